// "<prefix>" + raw body, as signed and hashed, and hex as ids and signatures are written.

import { describe, expect, it } from "vitest";
import { toHex, utf8, withTextPrefix } from "../../src/lib/bytes";

describe("withTextPrefix", () => {
  it("gives the prefix as UTF-8 followed by the bytes, and leaves the bytes as they were", () => {
    const body = utf8.encode('{"workOrderId":1}');
    expect(new TextDecoder().decode(withTextPrefix("1700000000.", body))).toBe('1700000000.{"workOrderId":1}');
    expect([...withTextPrefix("é\n", new Uint8Array([0xff]))]).toEqual([0xc3, 0xa9, 0x0a, 0xff]);
    expect(new TextDecoder().decode(body)).toBe('{"workOrderId":1}');
  });
});

describe("toHex", () => {
  it("writes two lower-case digits per byte, from bytes or a buffer", () => {
    expect(toHex(new Uint8Array([0x00, 0x0f, 0xa0, 0xff]))).toBe("000fa0ff");
    expect(toHex(new Uint8Array([1, 2]).buffer)).toBe("0102");
  });
});
