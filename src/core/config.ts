// Settings read as the AWS CLI reads them: the profile (from --profile, else AWS_PROFILE, else "default") in
// ~/.aws/config (AWS_CONFIG_FILE) and ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE), the retry settings
// AWS_MAX_ATTEMPTS / AWS_RETRY_MODE before the profile's max_attempts / retry_mode, and which credentials win:
// --profile, then keys in the environment, then AWS_PROFILE (the AWS CLI's order; the SDK's own chain prefers
// AWS_PROFILE over the keys and prints a warning about it).
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './errors.js';

type Env = Record<string, string | undefined>;

/** Sections of an INI file as name → key → value; a missing or unreadable file is empty. */
export function readIni(path: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return out;
  }
  let section: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+|\s+$/g, '');
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (head) {
      // A Map and null-prototype records: a section or key named __proto__ is just a name.
      section = out.get(head[1]) ?? Object.create(null);
      out.set(head[1], section!);
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (kv && section && !/^\s/.test(raw)) section[kv[1].toLowerCase()] = kv[2];
  }
  return out;
}

export function configFile(env: Env = process.env): string {
  return env.AWS_CONFIG_FILE || join(env.HOME || homedir(), '.aws', 'config');
}

export function credentialsFile(env: Env = process.env): string {
  return env.AWS_SHARED_CREDENTIALS_FILE || join(env.HOME || homedir(), '.aws', 'credentials');
}

/** The profile's settings merged from both files (config's `[profile NAME]` or `[default]`, credentials' `[NAME]`), or undefined when neither names it. */
export function profileSettings(name: string, env: Env = process.env): Record<string, string> | undefined {
  const config = readIni(configFile(env));
  const creds = readIni(credentialsFile(env));
  const fromConfig = config.get(`profile ${name}`) ?? (name === 'default' ? config.get('default') : undefined);
  const fromCreds = creds.get(name);
  if (!fromConfig && !fromCreds) return undefined;
  return Object.assign(Object.create(null), fromConfig, fromCreds);
}

export type RetryMode = 'legacy' | 'standard' | 'adaptive';

/** How `send` retries: attempts include the first; backoff is full jitter over base·2^(n-1) capped at capMs; no retry starts after totalMs. */
export interface RetryPolicy {
  mode: RetryMode;
  maxAttempts: number;
  baseMs: number;
  capMs: number;
  totalMs: number;
}

/** With nothing set: 10 attempts (a large upload sends thousands of parts; the AWS CLI's own default, 3, loses one in a few hundred runs under 20% faults). */
export const DEFAULT_MAX_ATTEMPTS = 10;
/** The AWS CLI's defaults per mode when only the mode is set. */
const MODE_ATTEMPTS: Record<RetryMode, number> = { legacy: 5, standard: 3, adaptive: 3 };

/**
 * The retry policy from AWS_MAX_ATTEMPTS / AWS_RETRY_MODE, else the profile's max_attempts / retry_mode.
 * Throws UsageError for a value that is not a whole number ≥ 1 or not a known mode (naming where it was read).
 */
export function retryPolicy(env: Env = process.env, profile?: Record<string, string>): RetryPolicy {
  const modeText = env.AWS_RETRY_MODE ?? profile?.retry_mode;
  if (modeText !== undefined && !['legacy', 'standard', 'adaptive'].includes(modeText)) {
    throw new UsageError(`invalid retry mode "${modeText}" (${env.AWS_RETRY_MODE !== undefined ? 'AWS_RETRY_MODE' : 'retry_mode in the profile'}): legacy, standard or adaptive`);
  }
  const mode = (modeText ?? 'standard') as RetryMode;
  const attemptsText = env.AWS_MAX_ATTEMPTS ?? profile?.max_attempts;
  let maxAttempts = modeText !== undefined ? MODE_ATTEMPTS[mode] : DEFAULT_MAX_ATTEMPTS;
  if (attemptsText !== undefined) {
    maxAttempts = Number(attemptsText);
    if (!/^\d+$/.test(attemptsText.trim()) || maxAttempts < 1) {
      throw new UsageError(`invalid max attempts "${attemptsText}" (${env.AWS_MAX_ATTEMPTS !== undefined ? 'AWS_MAX_ATTEMPTS' : 'max_attempts in the profile'}): a whole number, 1 or more`);
    }
  }
  // The legacy mode's base delay is the AWS CLI's 1 s; standard and adaptive start lower, as the SDKs do.
  return { mode, maxAttempts, baseMs: mode === 'legacy' ? 1000 : 250, capMs: 20_000, totalMs: 300_000 };
}

export interface ResolvedConfig {
  /** The profile credentials and region come from, when one is used. */
  profile?: string;
  /** Static keys from the environment, used when no --profile is given (before AWS_PROFILE, as the AWS CLI does). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  region?: string;
  retry: RetryPolicy;
}

/**
 * Which credentials, region and retry policy a run uses. `profile` is --profile. A named profile (--profile or
 * AWS_PROFILE) that neither file holds is a UsageError "The config profile (NAME) could not be found", the AWS
 * CLI's words. Never edits `env`.
 */
export function resolveConfig(o: { profile?: string; region?: string }, env: Env = process.env): ResolvedConfig {
  const named = o.profile ?? (env.AWS_PROFILE || env.AWS_DEFAULT_PROFILE || undefined);
  const settings = named ? profileSettings(named, env) : profileSettings('default', env);
  if (named && !settings) {
    throw new UsageError(`The config profile (${named}) could not be found: no AWS credentials found for it in ${configFile(env)} or ${credentialsFile(env)}`);
  }
  const envKeys = env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
    ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
    : undefined;
  const useEnvKeys = o.profile === undefined && envKeys !== undefined;
  const region = o.region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || settings?.region || undefined);
  return {
    profile: useEnvKeys ? undefined : named,
    credentials: useEnvKeys ? envKeys : undefined,
    region,
    retry: retryPolicy(env, settings),
  };
}
