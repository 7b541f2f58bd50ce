import { describe, expect, it } from "vitest";
import * as main from "../../src/index";

// wrangler refuses a main module that exports anything but handlers ("Incorrect type for map entry").
describe("src/index.ts", () => {
  it("exports only the default handler object with fetch, queue and scheduled", () => {
    expect(Object.keys(main)).toEqual(["default"]);
    expect(Object.keys(main.default).sort()).toEqual(["fetch", "queue", "scheduled"]);
  });
});
