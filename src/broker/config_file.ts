// Config files (topics.json, consumerOffset.json): written to a temp file, fsynced, then renamed
// over the old one, whose content is kept as <name>.bak and read if the main file is unreadable.
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { logScoped } from "../log.ts";

const log = logScoped("broker");

export function writeConfigFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.tmp`;
  const fd = openSync(temp, "w");
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (existsSync(path)) copyFileSync(path, `${path}.bak`);
  renameSync(temp, path);
}

/** The parsed content of `path`, else of `path.bak`, else null. */
export function readConfigFile(path: string, parse: (text: string) => unknown): unknown {
  for (const candidate of [path, `${path}.bak`]) {
    if (!existsSync(candidate)) continue;
    try {
      return parse(readFileSync(candidate, "utf8"));
    } catch (error) {
      log.warn("config_file.unreadable", { path: candidate, error: String(error) });
    }
  }
  return null;
}
