// Files embedded in the binary as text (Bun: import ... with { type: "text" }); see src/cli/install_service.ts.
declare module "*.service" {
  const text: string;
  export default text;
}
declare module "*.conf" {
  const text: string;
  export default text;
}
