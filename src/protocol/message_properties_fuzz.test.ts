// Fuzz: message properties. decodeProperties never throws, whatever the string; properties made
// of names and values without the two separators round-trip through encode/decode.
import { test } from "bun:test";
import { check, fuzz, type FuzzRandom } from "../testing/fuzz.ts";
import { decodeProperties, encodeProperties, nameValueSeparator, propertySeparator } from "./message_properties.ts";

const alphabet = ["a", "Z", "0", " ", "\u0001", "\u0002", "ü", "😀", "\u0000", "=", "TAGS", "KEYS", "UNIQ_KEY", "\ud800"];

function randomText(random: FuzzRandom, parts: number): string {
  let out = "";
  for (let i = 0; i < parts; i++) out += random.pick(alphabet);
  return out;
}

test("fuzz: message properties", () => {
  const count = fuzz("message_properties", 150_000, (random) => {
    if (random.oneIn(2)) {
      decodeProperties(randomText(random, random.below(40)));
      return;
    }
    const properties = new Map<string, string>();
    for (let i = random.below(6); i > 0; i--) {
      const name = randomText(random, 1 + random.below(4)).replaceAll(nameValueSeparator, "").replaceAll(propertySeparator, "");
      const value = randomText(random, random.below(6)).replaceAll(nameValueSeparator, "").replaceAll(propertySeparator, "");
      if (name.length > 0) properties.set(name, value);
    }
    const decoded = decodeProperties(encodeProperties(properties));
    check(decoded.size === properties.size, "same number of properties");
    for (const [name, value] of properties) check(decoded.get(name) === value, `property ${name} round-trips`);
  });
  console.log(`fuzz message_properties: ${count} inputs`);
}, 60_000);
