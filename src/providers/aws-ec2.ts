import { DAY } from './time.ts';
import type { ProviderProfile } from './types.ts';

/**
 * AWS EC2 (Query API, e.g. `RunInstances`).
 * - Key: request parameter `ClientToken`: a unique, case-sensitive string of up to 64 ASCII characters
 *   [doc docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html]. Tokens are per Region [doc].
 * - Retention (RunInstances): at least 24 h after the instance is terminated [doc]. Counted here from the
 *   first request, which is never later, so the 24 h floor is conservative.
 * - Replay: the same response; only the instance state may differ [doc]: the current state.
 * - Mismatch: `IdempotentParameterMismatch` [doc] (matched anywhere in the error body, XML or JSON).
 * - In progress: unknown.
 * - Lookup: "the client token is included in the response when you describe the instance" [doc]; whether
 *   DescribeInstances can filter by it is not in the facts in hand: none built in. The TTL check asks for
 *   one when the operation's TTL is over 24 h.
 * Other AWS services keep tokens for their own windows (8 h to 7 days) [doc]: they need their own profile.
 */
export const awsEc2: ProviderProfile = {
  name: 'aws-ec2',
  key: { in: 'query', name: 'ClientToken' },
  format: { maxLength: 64, ascii: true },
  retention: { floorMs: DAY, countsFrom: 'resource-termination' },
  replay: 'current-state',
  signals: { mismatch: (a) => a.status >= 400 && a.body.includes('IdempotentParameterMismatch') },
};
