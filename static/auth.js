// Demo sign-in for the chat: the SDK's token provider. In development mode
// (`deno task dev`) the server mints short-lived demo tokens at POST /token
// ({user, name} → {token, user, expiresIn}); the provider fetches a fresh one
// before every connection, so an expired token (the server closes with 4401)
// or a server restarted with a new secret is handled by the SDK's reconnect.
// A server started without --dev answers 404: the demo then connects
// anonymously (the SDK's `user` option names the member) from then on.
//
// The server stamps the token's `name` claim into this member's presence
// metadata, so in token mode the display name is the token's.

/**
 * @typedef {object} Identity
 * @property {"pending" | "token" | "anonymous"} mode How the demo connects.
 * @property {string} user The member id.
 * @property {string} name The display name: the token's `name` claim, or
 *   the name typed in (anonymous).
 * @property {number} [expiresAt] When the token expires (ms since the epoch).
 */

/**
 * @param {{ user: string, name: () => string, changed: (identity: Identity) => void }} options
 *   `name()` reads the name typed in ("" for none); `changed` is told about
 *   every new identity.
 */
export function demoAuth({ user, name, changed }) {
  /** @type {Identity} */
  let identity = { mode: "pending", user, name: name() };
  /** The name the current token was asked for. */
  let requested = name();

  /** @param {Identity} next */
  function set(next) {
    identity = next;
    changed(identity);
  }

  /**
   * The SDK's `token` option: a fresh demo token, or "" (connect without
   * one) once the server said it mints none. Throws when /token cannot be
   * reached or fails: the SDK retries after its backoff delay.
   * @returns {Promise<string>}
   */
  async function token() {
    if (identity.mode === "anonymous") return "";
    requested = name();
    const response = await fetch("/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      // Without a name the server uses the user id.
      body: JSON.stringify(
        requested === "" ? { user } : { user, name: requested },
      ),
    });
    if (response.status === 404) {
      set({ mode: "anonymous", user, name: name() });
      return "";
    }
    if (!response.ok) {
      throw new Error(`POST /token answered ${response.status}`);
    }
    const body = await response.json();
    if (typeof body?.token !== "string") {
      throw new Error("POST /token sent no token");
    }
    const claims = readClaims(body.token);
    set({
      mode: "token",
      user: typeof claims.sub === "string" ? claims.sub : user,
      name: typeof claims.name === "string" ? claims.name : user,
      ...(typeof claims.exp === "number"
        ? { expiresAt: claims.exp * 1000 }
        : {}),
    });
    return body.token;
  }

  return {
    token,
    /** The current identity. */
    get identity() {
      return identity;
    },
    /**
     * Whether the name typed in differs from the current token's: a new
     * token (`client.reconnect()`) is needed for others to see it.
     */
    stale() {
      return identity.mode === "token" && name() !== requested;
    },
    /** Anonymous mode: the name typed in is the display name. */
    renamed() {
      if (identity.mode !== "token") set({ ...identity, name: name() });
    },
  };
}

/**
 * The claims of a JWT, decoded for display only (the server verifies it).
 * @param {string} token
 * @returns {Record<string, unknown>}
 */
function readClaims(token) {
  try {
    const part = (token.split(".")[1] ?? "").replace(/-/g, "+").replace(
      /_/g,
      "/",
    );
    const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims === "object" && claims !== null ? claims : {};
  } catch {
    return {};
  }
}
