// "<prefix>" + raw body, as signed and hashed: the same bytes whether the body was read with room
// before it (written in place) or not (copied), and the body itself never changes.

import { describe, expect, it } from "vitest";
import { fromHex, PREFIX_HEADROOM_BYTES, utf8, withHeadroom, withTextPrefix } from "../../src/lib/bytes";

function bodyWithRoom(text: string): Uint8Array {
  const bytes = utf8.encode(text);
  const buffer = new ArrayBuffer(PREFIX_HEADROOM_BYTES + bytes.length + 7);
  new Uint8Array(buffer).fill(0xee);
  new Uint8Array(buffer, PREFIX_HEADROOM_BYTES).set(bytes);
  return withHeadroom(buffer, bytes.length);
}

describe("withTextPrefix", () => {
  it("gives the prefix followed by the body, written into the room before a body read with headroom", () => {
    const body = bodyWithRoom('{"workOrderId":1}');
    const signed = withTextPrefix("1700000000.", body);
    expect(signed.buffer).toBe(body.buffer);
    expect(new TextDecoder().decode(signed)).toBe('1700000000.{"workOrderId":1}');
    const hashed = withTextPrefix("NEW_WORK_ORDER\n", body);
    expect(new TextDecoder().decode(hashed)).toBe('NEW_WORK_ORDER\n{"workOrderId":1}');
    expect(new TextDecoder().decode(body)).toBe('{"workOrderId":1}');
  });

  it("copies when the body has no room before it, or the prefix is longer than the room", () => {
    const plain = utf8.encode("body");
    const copied = withTextPrefix("t.", plain);
    expect(copied.buffer).not.toBe(plain.buffer);
    expect(new TextDecoder().decode(copied)).toBe("t.body");

    const roomy = bodyWithRoom("body");
    const long = "T".repeat(PREFIX_HEADROOM_BYTES + 1);
    const whole = withTextPrefix(long, roomy);
    expect(whole.buffer).not.toBe(roomy.buffer);
    expect(new TextDecoder().decode(whole)).toBe(`${long}body`);
  });
});

describe("fromHex", () => {
  it("decodes either case and refuses odd lengths and any character that is not a hex digit", () => {
    expect([...(fromHex("00ff7A") ?? [])]).toEqual([0x00, 0xff, 0x7a]);
    for (const bad of ["", "0", "0g", "g0", "zz", " 0", "0\u0660", "\u00ff0", "+1"])
      expect(fromHex(bad)).toBeUndefined();
  });
});
