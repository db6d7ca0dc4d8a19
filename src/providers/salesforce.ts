import { isDefinitive4xx } from './answers.ts';
import { FOREVER } from './time.ts';
import type { ProviderProfile } from './types.ts';

/**
 * Salesforce REST upsert by External ID: `PATCH /services/data/vXX.X/sobjects/{Type}/{ExternalIdField}/{value}`
 * creates (201) when nothing matches and updates when one record matches; several matches answer 300 and
 * write nothing [doc]. The field must be marked External ID [doc].
 * - Key: none: the external ID in the URL is the identity (natural idempotency), so re-sending the same
 *   request writes the same state again. Reconciliation therefore always re-sends; a re-send can overwrite
 *   a change someone made to that record in between.
 * - 300 is a definitive failure (nothing written), as are 4xx.
 */
export const salesforceUpsert: ProviderProfile = {
  name: 'salesforce-upsert',
  key: null,
  format: {},
  retention: { floorMs: FOREVER, countsFrom: 'natural' },
  replay: 'natural',
  signals: { failed: (a) => a.status === 300 || isDefinitive4xx(a) },
};
