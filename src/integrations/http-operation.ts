import { setTimeout as sleep } from 'node:timers/promises';
import type { Operation, OperationDefinition, RetrySafe } from '../executor/client.ts';
import type { CallContext, OperationPolicy } from '../executor/policy.ts';
import { classify, interpretAnswer, jsonOf, pick, ProviderAnswerError } from '../providers/answers.ts';
import { deriveProviderKey, placeKey } from '../providers/key.ts';
import {
  checkTtl,
  lookup,
  lookupSettleMs,
  providerStoresErrors,
  resendWithinMs,
} from '../providers/policy.ts';
import type { HttpAnswer, HttpClient, HttpRequestEnvelope, ProviderProfile } from '../providers/types.ts';
import {
  assertDeclaredOrigin,
  assertNoCredentials,
  boundTransport,
  declaredOrigins,
  type CredentialRules,
} from './credentials.ts';

/** Used when a profile does not say how to retry an in-progress answer. */
const DEFAULT_IN_PROGRESS_DELAYS_MS = [1000, 2000, 4000] as const;

/** How long to wait before each retry of an in-progress answer: the caller's, the profile's or the default. */
export function inProgressDelays(profile: ProviderProfile, override?: readonly number[]): readonly number[] {
  return override ?? profile.inProgressRetry?.delaysMs ?? DEFAULT_IN_PROGRESS_DELAYS_MS;
}

/**
 * The profile's TTL check for an operation declared on `rs`: the client's defaults apply to every
 * operation it declares, so the check sees the TTL and retry window the operation will really have.
 */
export function checkDeclaredTtl(
  rs: RetrySafe,
  profile: ProviderProfile,
  options: { name: string; version: number; ttlMs?: number; retryWindowMs?: number },
): void {
  checkTtl(profile, {
    operation: `${options.name}@${options.version}`,
    ttlMs: options.ttlMs ?? rs.defaults.ttlMs,
    retryWindowMs: options.retryWindowMs ?? rs.defaults.retryWindowMs,
  });
}

/** Declaration of an HTTP write made through a provider profile. */
export interface HttpOperationOptions<I>
  extends
    Partial<Omit<OperationPolicy, 'resendWithinMs' | 'lookupSettleMs' | 'providerStoresErrors'>>,
    CredentialRules {
  readonly name: string;
  readonly version: number;
  readonly profile: ProviderProfile;
  /** The key fields of the logical operation. */
  readonly key: (input: I) => unknown;
  readonly scope?: (input: I) => string | undefined;
  /** The request to send, without credentials and without the provider key (both are added per send). */
  readonly request: (input: I) => HttpRequestEnvelope;
  /** Sends a request with credentials and reads the whole answer. Also used by lookups. */
  readonly transport: HttpClient;
  /**
   * The origins (`https://api.stripe.com`: scheme, host, port) this operation sends to. Given, a request
   * to any other origin is refused before it is reserved, and the transport sends nothing anywhere else:
   * not a re-send of a stored request that was altered, not a page or a resource the provider's answer
   * links to. Required by the fetch wrapper and the interceptor whenever they attach `headers`.
   */
  readonly origin?: string | readonly string[];
  /** Overrides the profile's waits before retrying an in-progress answer with the same key. */
  readonly inProgressDelaysMs?: readonly number[];
  /** The provider's id of the write. @default the `id` field of a JSON answer */
  readonly providerRef?: (answer: HttpAnswer) => string | undefined;
}

/**
 * Declares an HTTP write on `rs` through a profile: the stored payload is the request envelope, so
 * batch reconciliation can re-send the same bytes (`resend`) under the same provider key while the
 * provider remembers it and look the write up through the profile afterwards. Runs the TTL check.
 */
export function httpOperation<I>(rs: RetrySafe, options: HttpOperationOptions<I>): Operation<I, HttpAnswer> {
  const { profile } = options;
  checkDeclaredTtl(rs, profile, options);
  const where = `operation ${options.name}@${options.version}`;
  const origins = options.origin === undefined ? undefined : declaredOrigins(where, options.origin);
  const transport = origins === undefined ? options.transport : boundTransport(options.transport, origins);
  const send = sender(profile, transport, options.inProgressDelaysMs);
  const {
    request: build,
    transport: _t,
    profile: _p,
    inProgressDelaysMs: _d,
    origin: _o,
    credentialHeaders: _h,
    credentialParameters: _q,
    providerRef,
    ...rest
  } = options;
  const rules: CredentialRules = {
    credentialHeaders: options.credentialHeaders,
    credentialParameters: options.credentialParameters,
  };
  // Checked while the call is prepared, so a refused request reserves nothing and sends nothing.
  const request = (input: I): HttpRequestEnvelope => {
    const envelope = build(input);
    assertNoCredentials(envelope, rules);
    if (origins !== undefined) assertDeclaredOrigin(envelope, origins);
    return envelope;
  };
  const definition: OperationDefinition<I, HttpAnswer, HttpRequestEnvelope> = {
    ...rest,
    resendWithinMs: resendWithinMs(profile),
    lookupSettleMs: lookupSettleMs(profile),
    providerStoresErrors: providerStoresErrors(profile),
    payload: request,
    call: (input, context) => send(request(input), context),
    resend: (envelope, context) => send(envelope, context),
    // Calls, lookups and results all see the profile's key (its `derive`, checked against its format).
    providerKey: (key, generation) => deriveProviderKey(profile, key, generation),
    classify: classify(profile),
    providerRef: providerRef ?? defaultProviderRef,
    replayed: (answer) => profile.signals.replayed?.(answer) === true,
    ...(profile.lookup === undefined ? {} : { lookup: lookup(profile, transport) }),
  };
  return rs.operation(definition);
}

function defaultProviderRef(answer: HttpAnswer): string | undefined {
  const id = pick(jsonOf(answer), 'id');
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

/**
 * One attempt at a request: the provider key placed where the profile says, in-progress answers retried
 * with the same key, a conflict naming the resource read back, a burned key looked up, and every other
 * non-success thrown as a `ProviderAnswerError` that `classify` maps onto the executor's outcomes.
 */
export function sender(
  profile: ProviderProfile,
  transport: HttpClient,
  delaysOverride?: readonly number[],
): (envelope: HttpRequestEnvelope, context: CallContext) => Promise<HttpAnswer> {
  const delays = inProgressDelays(profile, delaysOverride);
  return async (envelope, context) => {
    const { providerKey } = context;
    const placed = placeKey(profile, envelope, providerKey);
    for (let retry = 0; ; retry++) {
      context.signal.throwIfAborted();
      const answer = await transport(placed, context.signal);
      const meaning = interpretAnswer(profile, answer, placed);
      switch (meaning.kind) {
        case 'success':
          return answer;
        case 'existing': {
          const existing = await transport(
            { method: 'GET', url: meaning.url, headers: {}, body: null },
            context.signal,
          );
          if (existing.status === 200) return existing;
          throw new ProviderAnswerError(
            profile.name,
            'unknown',
            answer,
            `the key names an existing resource that could not be read (${existing.status})`,
          );
        }
        case 'in_progress': {
          const delay = delays[retry];
          if (delay === undefined) throw new ProviderAnswerError(profile.name, 'in_progress', answer);
          await sleep(delay, undefined, { signal: context.signal });
          continue;
        }
        case 'key_burned':
          return afterBurnedKey(profile, transport, envelope, providerKey, context, answer);
        default:
          throw new ProviderAnswerError(profile.name, meaning.kind, answer);
      }
    }
  };
}

/** A burned key never performs again: only a lookup can tell whether the write happened. */
async function afterBurnedKey(
  profile: ProviderProfile,
  transport: HttpClient,
  request: HttpRequestEnvelope,
  providerKey: string,
  context: CallContext,
  answer: HttpAnswer,
): Promise<HttpAnswer> {
  const find = profile.lookup?.find;
  if (find === undefined) throw new ProviderAnswerError(profile.name, 'key_burned', answer);
  // The write's time is not known here, so the lookup's window is unbounded (since 0).
  const found = await find({ request, key: context.key, providerKey, since: 0 }, (r) =>
    transport(r, context.signal),
  );
  if (found.status === 'found') return found.value;
  // `absent` is not trusted inside the attempt: the settle delay is judged from the recorded unknown.
  throw new ProviderAnswerError(
    profile.name,
    'key_burned',
    answer,
    `the key is burned and the lookup answered ${found.status}; reconciliation looks again after the ` +
      'settle delay, and no new key is used before it',
  );
}

export { SECRET_HEADERS } from './credentials.ts';
