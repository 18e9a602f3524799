/**
 * TLS: with TLS_CERT_FILE and TLS_KEY_FILE the server speaks https and wss.
 * The certificate is made at test time with Debian's `openssl`; without it
 * the test is skipped with a loud notice, except under CI=true, where it
 * fails. The wss client runs in a child `deno run --cert` process, since a
 * WebSocket in this process cannot be told to trust a private CA.
 */
import assert from "node:assert/strict";
import { report, startTestServer } from "../_support/harness.ts";

const API_KEY = `api-${crypto.randomUUID()}`;

/** Whether `openssl` runs here. */
async function hasOpenssl(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("openssl", {
      args: ["version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** A self-signed P-256 certificate for localhost and 127.0.0.1, valid one day. */
async function makeCertificate(dir: string) {
  const cert = `${dir}/cert.pem`;
  const key = `${dir}/key.pem`;
  const { success, stderr } = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      // rustls refuses a CA certificate as the server's own (CaUsedAsEndEntity).
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(success, new TextDecoder().decode(stderr));
  return { cert, key, pem: await Deno.readTextFile(cert) };
}

/** The wss client run in the child process: prints one JSON line per step. */
const CLIENT = `
const [url] = Deno.args;
const say = (line) => console.log(JSON.stringify(line));
setTimeout(() => { say({ step: "timeout" }); Deno.exit(2); }, 10_000);
const socket = new WebSocket(url, ["roomcast.v1"]);
socket.onerror = (event) => { say({ step: "error", message: String(event.message) }); Deno.exit(1); };
socket.onmessage = (event) => {
  const message = JSON.parse(event.data);
  if (message.type === "welcome") {
    say({ step: "welcome", protocol: socket.protocol });
    socket.send(JSON.stringify({ type: "join", room: "secure" }));
  } else if (message.type === "joined") {
    say({ step: "joined", room: message.room });
  } else if (message.type === "message") {
    say({ step: "message", data: message.data, from: message.from });
    socket.close(1000);
  }
};
socket.onclose = (event) => { say({ step: "closed", code: event.code }); Deno.exit(0); };
`;

const opensslHere = await hasOpenssl();
if (!opensslHere) {
  const notice =
    "tls_test: openssl not found: TLS NOT TESTED (apt-get install openssl)";
  if (Deno.env.get("CI") === "true") throw new Error(notice);
  report(`!!! ${notice}`);
}

Deno.test({
  name:
    "https and wss: healthz, API publish, and a wss client that joins and receives",
  ignore: !opensslHere,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "roomcast-tls-" });
    try {
      const { cert, key, pem } = await makeCertificate(dir);
      await using server = await startTestServer({
        env: { TLS_CERT_FILE: cert, TLS_KEY_FILE: key, API_KEY },
      });
      const base = `https://127.0.0.1:${server.addr.port}`;
      using client = Deno.createHttpClient({ caCerts: [pem] });

      const health = await fetch(`${base}/healthz`, { client });
      assert.equal(health.status, 200);
      assert.equal((await health.json()).status, "ok");
      // Without the CA the certificate is not trusted.
      await assert.rejects(fetch(`${base}/healthz`));

      const script = `${dir}/client.js`;
      await Deno.writeTextFile(script, CLIENT);
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-config",
          "--cert",
          cert,
          `--allow-net=127.0.0.1:${server.addr.port}`,
          script,
          `wss://127.0.0.1:${server.addr.port}/ws`,
        ],
        cwd: dir,
        env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const steps: Array<Record<string, unknown>> = [];
      const lines = child.stdout.pipeThrough(new TextDecoderStream())
        .pipeThrough(splitLines());
      let published = false;
      for await (const line of lines) {
        const step = JSON.parse(line);
        steps.push(step);
        if (step.step === "joined" && !published) {
          published = true;
          const res = await fetch(`${base}/api/rooms/secure/messages`, {
            client,
            method: "POST",
            headers: {
              authorization: `Bearer ${API_KEY}`,
              "content-type": "application/json",
            },
            body: '{"data":"over tls"}',
          });
          assert.equal(res.status, 201);
          await res.body?.cancel();
        }
      }
      const [status, stderr] = await Promise.all([
        child.status,
        new Response(child.stderr).text(),
      ]);
      assert.equal(status.code, 0, stderr);
      assert.deepEqual(steps, [
        { step: "welcome", protocol: "roomcast.v1" },
        { step: "joined", room: "secure" },
        { step: "message", data: "over tls", from: "api" },
        { step: "closed", code: 1000 },
      ]);
      report(
        "tls: https healthz 200, untrusted fetch refused, wss welcome/join/message ok",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Splits a text stream into lines (without the newline). */
function splitLines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      for (const part of parts) {
        if (part.trim() !== "") controller.enqueue(part);
      }
    },
    flush(controller) {
      if (rest.trim() !== "") controller.enqueue(rest);
    },
  });
}
