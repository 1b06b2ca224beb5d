// Commands printed for a person to paste back into a POSIX shell (bash, zsh, dash).

/**
 * Quotes one word for a POSIX shell: left bare when it holds only characters no shell treats specially
 * (letters, digits and `_ - . / : = @ % + ,`), else in single quotes, with each `'` written as `'\''`.
 * The empty word is `''`.
 */
export function shellWord(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_\-./:=@%+,]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Words to one pasteable command line: each quoted by shellWord, joined by spaces. */
export function shellCommand(words: readonly string[]): string {
  return words.map(shellWord).join(' ');
}

/** The options that say where a command goes, as given on the command line: each changes what a pasted command reaches. */
export interface Where {
  profile?: string;
  region?: string;
  endpoint?: string;
  /** '-' (the credentials' own account) is the default and is left out. */
  accountId?: string;
}

/** `--profile P --region R --endpoint URL --account-id ID`, each only when set. */
export function whereArgs(w: Where): string[] {
  return [
    ...(w.profile ? ['--profile', w.profile] : []),
    ...(w.region ? ['--region', w.region] : []),
    ...(w.endpoint ? ['--endpoint', w.endpoint] : []),
    ...(w.accountId && w.accountId !== '-' ? ['--account-id', w.accountId] : []),
  ];
}
