import { FOREVER } from './time.ts';
import type { ProviderProfile } from './types.ts';

/**
 * HubSpot CRM batch upsert by a unique property: `POST /crm/objects/{type}/batch/upsert` with
 * `idProperty` ("create or update records identified by a unique property value"); the property needs
 * `hasUniqueValue` [doc].
 * - Key: none: the unique property value is the identity (natural idempotency); reconciliation re-sends.
 *   `objectWriteTraceId` is not documented as deduplication [doc] and is not used.
 */
export const hubspotUpsert: ProviderProfile = {
  name: 'hubspot-upsert',
  key: null,
  format: {},
  retention: { floorMs: FOREVER, countsFrom: 'natural' },
  replay: 'natural',
  signals: {},
};
