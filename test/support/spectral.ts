import { Document, type ISpectralDiagnostic, Spectral } from '@stoplight/spectral-core';
import * as Parsers from '@stoplight/spectral-parsers';
import { oas } from '@stoplight/spectral-rulesets';
import owasp from '@stoplight/spectral-owasp-ruleset';

/** Spectral's `spectral:oas` and the OWASP API Security ruleset, run offline through Spectral's JS API. */
export async function lintOpenApi(document: unknown): Promise<ISpectralDiagnostic[]> {
  const spectral = new Spectral();
  spectral.setRuleset({
    extends: [
      [oas as never, 'recommended'],
      [owasp as never, 'recommended'],
    ],
  } as never);
  return spectral.run(new Document(JSON.stringify(document, null, 2), Parsers.Json, 'openapi.json'));
}
