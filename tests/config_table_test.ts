import assert from "node:assert/strict";
import { renderConfigTable, SETTINGS } from "../lib/support/config.ts";
import { README, readmeTable, tableCells } from "./_support/config_table.ts";

Deno.test("the README's configuration table is the one derived from SETTINGS", async () => {
  const readme = await Deno.readTextFile(README);
  assert.deepEqual(
    tableCells(readmeTable(readme)),
    tableCells(renderConfigTable()),
    "README.md and lib/config.ts disagree: run `deno task docs:config`",
  );
});

Deno.test("renderConfigTable() has a row for every setting", () => {
  const rows = tableCells(renderConfigTable());
  for (const setting of Object.values(SETTINGS)) {
    assert.equal(
      rows.filter((r) => r[0] === `\`${setting.env}\``).length,
      1,
      setting.env,
    );
  }
});

Deno.test("tableCells() ignores alignment and separator rows", () => {
  assert.deepEqual(
    tableCells("| a   | b |\n| --- | :-: |\n|  `X` |  1 |"),
    [["a", "b"], ["`X`", "1"]],
  );
});
