import assert from "node:assert/strict";
import { FakeLoop } from "../../tests/_support/fake_loop.ts";
import { type Deferred, SendBudget } from "./_send_budget.ts";

/** Work of `steps` parts, one part per resumption that finds budget left. */
function work(name: string, steps: number, log: string[], budget: SendBudget) {
  let left = steps;
  const w: Deferred = {
    resume() {
      while (left > 0 && budget.left > 0) {
        budget.spend(1);
        left -= 1;
        log.push(name);
      }
      return left === 0;
    },
  };
  return w;
}

Deno.test("SendBudget: spending arms one turn end, which makes the budget whole again", () => {
  const loop = new FakeLoop();
  const budget = new SendBudget(5, (fn) => loop.afterTurn(fn));
  budget.spend(3);
  budget.spend(4);
  assert.equal(budget.left, -2); // overspent: reads and acks are not deferred
  assert.equal(loop.waiting, 1);
  loop.endTurn();
  assert.equal(budget.left, 5);
  assert.equal(loop.waiting, 0); // nothing spent, nothing waiting: no more turns
});

Deno.test("SendBudget: deferred work resumes next turn, in order, round robin, until done", () => {
  const loop = new FakeLoop();
  const budget = new SendBudget(3, (fn) => loop.afterTurn(fn));
  const log: string[] = [];
  budget.spend(3);
  budget.defer(work("a", 4, log, budget));
  budget.defer(work("b", 1, log, budget));
  budget.defer(work("c", 2, log, budget));
  assert.deepEqual(log, []);
  loop.endTurn(); // a takes the whole budget and goes to the back
  assert.deepEqual(log, ["a", "a", "a"]);
  assert.equal(budget.waiting, 3);
  loop.endTurn(); // b and c, which kept their places, then a
  assert.deepEqual(log, ["a", "a", "a", "b", "c", "c"]);
  loop.endTurn();
  assert.deepEqual(log.slice(6), ["a"]);
  assert.equal(budget.waiting, 0);
});

Deno.test("SendBudget: drain() finishes everything at once, whatever the budget", () => {
  const loop = new FakeLoop();
  const budget = new SendBudget(1, (fn) => loop.afterTurn(fn));
  const log: string[] = [];
  budget.spend(1);
  budget.defer(work("a", 5, log, budget));
  budget.drain();
  assert.deepEqual(log, ["a", "a", "a", "a", "a"]);
  assert.equal(budget.waiting, 0);
});
