import { expect, test } from "bun:test";
import { restartOnlyKeys, runtimeKeys, withKeys } from "./runtime_config.ts";

test("withKeys rewrites a key's lines in place, keeps comments and order, appends new keys", () => {
  const text = "# notes\nbrokerName = broker-a\nmaxMessageSize=4194304\n\n! more\nmaxMessageSize:1\n";
  expect(withKeys(text, new Map([["maxMessageSize", "4096"], ["deleteWhen", "01;04"]]))).toBe(
    "# notes\nbrokerName = broker-a\nmaxMessageSize=4096\n\n! more\nmaxMessageSize=4096\ndeleteWhen=01;04\n",
  );
  expect(withKeys("", new Map([["fileReservedTime", "48"]]))).toBe("fileReservedTime=48\n");
});

test("runtime and restart-only keys do not overlap", () => {
  for (const key of Object.keys(runtimeKeys)) expect(restartOnlyKeys.has(key)).toBe(false);
  expect(restartOnlyKeys.has("listenPort")).toBe(true);
});
