/** PostgreSQL store URLs: recognising them, and printing them without a password. */

/** True for a `postgres://` or `postgresql://` URL (anything else is a path to a JSONL file). */
export function isPostgresUrl(text: string | undefined): text is string {
  return typeof text === 'string' && /^postgres(ql)?:\/\//i.test(text);
}

/** The URL as ygg prints it: any password replaced by `***` (also in `password=` parameters). */
export function redactUrl(url: string): string {
  return url
    .replace(/^(postgres(?:ql)?:\/\/)([^@/?#]*)@/i, (_all, scheme: string, auth: string) => {
      const colon = auth.indexOf(':');
      return colon < 0 ? `${scheme}${auth}@` : `${scheme}${auth.slice(0, colon)}:***@`;
    })
    .replace(/([?&]password=)[^&#]*/gi, '$1***');
}

/** Replaces the URL (as given) by its redacted form in a message from the driver or the server. */
export function redactIn(text: string, url: string): string {
  return url === redactUrl(url) ? text : text.split(url).join(redactUrl(url));
}
