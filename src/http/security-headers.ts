import helmet from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * helmet's default security headers (the Content-Security-Policy lets Swagger UI at /docs run:
 * its scripts and styles are served from /docs, nothing inline but styles), worked out once.
 * They are the same for every answer, and helmet, run per request, built them again each
 * time: about 3% of a command's CPU.
 */
export function securityHeaders(): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string) => {
      headers[name.toLowerCase()] = value;
    },
    removeHeader: (name: string) => {
      delete headers[name.toLowerCase()];
    },
  };
  let done = false;
  helmet()({} as IncomingMessage, response as unknown as ServerResponse, () => (done = true));
  if (!done) throw new Error('helmet did not set its headers at once');
  return Object.freeze(headers);
}
