/**
 * Provider profiles (`retrysafe/providers`): what each downstream API does with an idempotency key, and
 * helpers that turn a profile into the executor's pieces (classify, resendWithinMs, lookupSettleMs,
 * lookup) plus the declaration-time TTL check. See docs/providers.md.
 */
export type * from './types.ts';
export {
  classify,
  interpretAnswer,
  isDefinitive4xx,
  jsonOf,
  pick,
  ProviderAnswerError,
  type FailureKind,
} from './answers.ts';
export { deriveProviderKey, keyFormatViolation, placeKey, jsonObjectBody } from './key.ts';
export {
  checkTtl,
  lookup,
  lookupSettleMs,
  providerStoresErrors,
  resendWithinMs,
  human,
  type TtlDeclaration,
} from './policy.ts';
export { foundResource, unreadable } from './found.ts';
export { DAY, FOREVER, HOUR, MINUTE, SECOND } from './time.ts';
export { idempotencyKeyHeader, type IdempotencyKeyHeaderOptions } from './ietf.ts';
export { stripe, STRIPE_MARKER, STRIPE_SEARCHABLE, stripeSearchQuery, stripeResourceOf } from './stripe.ts';
export { paypalOrders, paypalPayments } from './paypal.ts';
export { adyen } from './adyen.ts';
export { square } from './square.ts';
export { gocardless } from './gocardless.ts';
export { checkout, CHECKOUT_MARKER } from './checkout.ts';
export { mollie, MOLLIE_MARKER } from './mollie.ts';
export { awsEc2 } from './aws-ec2.ts';
export { googleCloud, googleCompute } from './google-cloud.ts';
export { githubIssues, githubMarker } from './github-issues.ts';
export { jira, jiraLabel, jiraLabels, jiraProperties, JIRA_PROPERTY, type JiraMarker } from './jira.ts';
export { salesforceUpsert } from './salesforce.ts';
export { hubspotUpsert } from './hubspot.ts';
