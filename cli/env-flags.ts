// The environment's part of `mlx-serving`'s one precedence rule (flags > environment > config file >
// defaults): an environment variable becomes the flag it stands for, added only when the command
// line does not give that flag; the subcommand then lays its flags over its config file.

/** Environment variables and the flag each stands for. */
export type EnvFlags = readonly (readonly [variable: string, flag: string])[];

/** `args` with a flag added for each set variable of `map` whose flag `args` does not give. */
export function withEnvFlags(args: readonly string[], map: EnvFlags, env: NodeJS.ProcessEnv): string[] {
  const out = [...args];
  for (const [variable, flag] of map) {
    const value = env[variable]?.trim();
    if (value === undefined || value === '') continue;
    if (args.some((a) => a === flag || a.startsWith(`${flag}=`))) continue;
    out.push(flag, value);
  }
  return out;
}
