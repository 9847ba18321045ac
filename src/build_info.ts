// What `bolide --version` prints. scripts/build.ts and scripts/release.ts replace BOLIDE_COMMIT and
// BOLIDE_BUILD_DATE with string literals (bun build --define); run from source (bun src/main.ts)
// they are not defined and read "unknown". `typeof` of an undeclared global does not throw.
import packageJson from "../package.json" with { type: "json" };

declare const BOLIDE_COMMIT: string | undefined;
declare const BOLIDE_BUILD_DATE: string | undefined;

export const buildVersion: string = packageJson.version;
export const buildCommit: string = typeof BOLIDE_COMMIT === "string" && BOLIDE_COMMIT !== "" ? BOLIDE_COMMIT : "unknown";
export const buildDate: string = typeof BOLIDE_BUILD_DATE === "string" && BOLIDE_BUILD_DATE !== "" ? BOLIDE_BUILD_DATE : "unknown";

/** One line: "bolide 0.1.0 (commit 1a2b3c4d5e6f, built 2026-11-25T13:40:00Z)". */
export function versionLine(): string {
  return `bolide ${buildVersion} (commit ${buildCommit}, built ${buildDate})`;
}
