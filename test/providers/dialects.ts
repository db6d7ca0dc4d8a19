import {
  adyen,
  awsEc2,
  checkout,
  DAY,
  githubIssues,
  gocardless,
  googleCloud,
  googleCompute,
  HOUR,
  hubspotUpsert,
  idempotencyKeyHeader,
  jiraLabels,
  jiraProperties,
  MINUTE,
  mollie,
  paypalOrders,
  paypalPayments,
  salesforceUpsert,
  SECOND,
  square,
  stripe,
  type ProviderProfile,
} from '../../src/providers/index.ts';
import type { FakeResource, ProviderFacts, SeenRequest } from './fake-provider.ts';

/** A provider as a test sees it: the shipped profile, the fake's facts, and a write to send. */
export interface Dialect {
  readonly profile: ProviderProfile;
  readonly facts: ProviderFacts;
  /** A write: path, method, body and content type. */
  readonly write: {
    readonly method: string;
    readonly path: string;
    readonly body: string;
    readonly contentType: string;
  };
}

const json = (value: unknown) => JSON.stringify(value);
const header = (name: string) => (r: SeenRequest) => r.headers[name];
const get = (value: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>(
    (v, k) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined),
    value,
  );
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const newestFirst = (visible: readonly FakeResource[]) =>
  [...visible].sort((a, b) => b.createdAt - a.createdAt);

const jsonWrite = (method: string, path: string, body: unknown) => ({
  method,
  path,
  body: json(body),
  contentType: 'application/json',
});

export const dialects: Readonly<Record<string, Dialect>> = {
  ietf: {
    profile: idempotencyKeyHeader({ retentionMs: DAY }),
    facts: {
      name: 'ietf',
      keyOf: header('idempotency-key'),
      retentionMs: DAY,
      replay: 'stored-response',
      mismatch: { status: 422, body: { error: 'key reused with another payload' } },
      inProgress: { status: 409, body: { error: 'in progress' } },
      idPrefix: 'res_',
    },
    write: jsonWrite('POST', '/things', { name: 'a' }),
  },
  stripe: {
    profile: stripe,
    facts: {
      name: 'stripe',
      keyOf: header('idempotency-key'),
      retentionMs: DAY,
      replay: 'stored-response',
      replayHeaders: { 'idempotent-replayed': 'true' },
      mismatch: {
        status: 400,
        body: {
          error: {
            type: 'idempotency_error',
            message: 'Keys for idempotent requests can only be used with the same parameters',
          },
        },
      },
      inProgress: {
        status: 409,
        body: { error: { type: 'invalid_request_error', code: 'idempotency_key_in_use' } },
      },
      idPrefix: 'ch_',
      lagMs: 30 * MINUTE,
      lookup: (r, visible) => {
        const match = /^\/v1\/([a-z_]+)\/search$/.exec(r.url.pathname);
        if (match === null) return undefined;
        const pk = /'([^']+)'$/.exec(r.url.searchParams.get('query') ?? '')?.[1];
        const data = visible.filter((c) => get(c.fields, 'metadata', 'retrysafe_key') === pk);
        return {
          status: 200,
          body: { object: 'search_result', data: data.map((c) => ({ id: c.id, ...c.fields })) },
        };
      },
    },
    write: {
      method: 'POST',
      path: '/v1/charges',
      body: 'amount=500&currency=eur&source=tok_visa',
      contentType: 'application/x-www-form-urlencoded',
    },
  },
  'paypal-orders': {
    profile: paypalOrders,
    facts: {
      name: 'paypal',
      keyOf: header('paypal-request-id'),
      retentionMs: 6 * HOUR,
      replay: 'current-state',
      idPrefix: 'ORDER-',
      createdStatus: 201,
    },
    write: jsonWrite('POST', '/v2/checkout/orders', {
      intent: 'CAPTURE',
      purchase_units: [{ amount: { currency_code: 'EUR', value: '5.00' } }],
    }),
  },
  'paypal-payments': {
    profile: paypalPayments,
    facts: {
      name: 'paypal',
      keyOf: header('paypal-request-id'),
      retentionMs: 45 * DAY,
      replay: 'current-state',
      idPrefix: 'CAP-',
      createdStatus: 201,
    },
    write: jsonWrite('POST', '/v2/payments/authorizations/AUTH-1/capture', { final_capture: true }),
  },
  adyen: {
    profile: adyen,
    facts: {
      name: 'adyen',
      keyOf: header('idempotency-key'),
      retentionMs: 31 * DAY,
      replay: 'stored-response',
      inProgress: {
        status: 422,
        body: { status: 422, errorCode: '704', message: 'request already processed or in progress' },
        headers: { 'transient-error': 'true' },
      },
      idPrefix: 'PSP',
    },
    write: jsonWrite('POST', '/v71/payments', {
      amount: { currency: 'EUR', value: 500 },
      reference: 'order-1',
    }),
  },
  square: {
    profile: square,
    facts: {
      name: 'square',
      keyOf: (r) => text(get(JSON.parse(r.body || '{}'), 'idempotency_key')),
      // Unpublished; the fake forgets after a day.
      retentionMs: DAY,
      replay: 'stored-success',
      mismatch: {
        status: 400,
        body: { errors: [{ category: 'INVALID_REQUEST_ERROR', code: 'IDEMPOTENCY_KEY_REUSED' }] },
      },
      idPrefix: 'sq_',
      render: (p) => ({ payment: { id: p.id, ...p.fields } }),
      lagMs: 30 * SECOND,
      lookup: (r, visible) => {
        if (r.url.pathname !== '/v2/payments') return undefined;
        const begin = Date.parse(r.url.searchParams.get('begin_time') ?? '');
        const payments = visible.filter((p) => p.createdAt >= begin).map((p) => ({ id: p.id, ...p.fields }));
        return { status: 200, body: { payments } };
      },
    },
    write: jsonWrite('POST', '/v2/payments', {
      source_id: 'cnon:card',
      amount_money: { amount: 500, currency: 'EUR' },
    }),
  },
  gocardless: {
    // The retention is unknown; a test that wants the 409 path declares one it trusts.
    profile: { ...gocardless, retention: { floorMs: DAY, countsFrom: 'first-request' } },
    facts: {
      name: 'gocardless',
      keyOf: header('idempotency-key'),
      retentionMs: DAY,
      replay: 'conflict-names-resource',
      conflict: (p) => ({
        status: 409,
        body: {
          error: {
            type: 'invalid_state',
            message: 'A resource has already been created with this idempotency key',
            errors: [{ reason: 'idempotent_creation_conflict', links: { conflicting_resource_id: p.id } }],
          },
        },
      }),
      idPrefix: 'PM',
      createdStatus: 201,
      render: (p) => ({ payments: { id: p.id, ...(p.fields['payments'] as object) } }),
    },
    write: jsonWrite('POST', '/payments', { payments: { amount: 500, currency: 'EUR' } }),
  },
  checkout: {
    profile: checkout,
    facts: {
      name: 'checkout',
      keyOf: header('cko-idempotency-key'),
      retentionMs: DAY,
      replay: 'stored-success',
      inProgress: {
        status: 409,
        body: { error_type: 'conflict', message: 'Conflict with another request being processed' },
      },
      idPrefix: 'pay_',
      createdStatus: 201,
      lagMs: 30 * SECOND,
      lookup: (r, visible) => {
        if (r.url.pathname !== '/payments' || !r.url.searchParams.has('reference')) return undefined;
        const reference = r.url.searchParams.get('reference');
        const data = visible
          .filter((p) => p.fields['reference'] === reference)
          .map((p) => ({ id: p.id, ...p.fields }));
        return { status: 200, body: { data } };
      },
    },
    write: jsonWrite('POST', '/payments', {
      amount: 500,
      currency: 'EUR',
      source: { type: 'token', token: 'tok_1' },
    }),
  },
  mollie: {
    profile: mollie,
    facts: {
      name: 'mollie',
      keyOf: header('idempotency-key'),
      retentionMs: DAY,
      replay: 'stored-response',
      replayHeaders: { 'idempotent-replayed': 'true' },
      mismatch: {
        status: 400,
        body: { status: 400, title: 'Bad Request', detail: 'idempotency key reused' },
      },
      inProgress: { status: 409, body: { status: 409, title: 'Conflict' } },
      idPrefix: 'tr_',
      createdStatus: 201,
      lagMs: 30 * SECOND,
      render: (p) => ({ id: p.id, createdAt: new Date(p.createdAt).toISOString(), ...p.fields }),
      lookup: (r, visible) => {
        if (r.url.pathname !== '/v2/payments') return undefined;
        const payments = newestFirst(visible).map((p) => ({
          id: p.id,
          createdAt: new Date(p.createdAt).toISOString(),
          ...p.fields,
        }));
        return { status: 200, body: { _embedded: { payments }, _links: { next: null } } };
      },
    },
    write: jsonWrite('POST', '/v2/payments', {
      amount: { currency: 'EUR', value: '5.00' },
      description: 'order 1',
      metadata: { order: '1' },
    }),
  },
  'aws-ec2': {
    profile: awsEc2,
    facts: {
      name: 'ec2',
      keyOf: (r) => r.url.searchParams.get('ClientToken') ?? undefined,
      retentionMs: DAY,
      replay: 'current-state',
      mismatch: {
        status: 400,
        body: '<Response><Errors><Error><Code>IdempotentParameterMismatch</Code></Error></Errors></Response>',
      },
      idPrefix: 'i-',
    },
    write: {
      method: 'POST',
      path: '/?Action=RunInstances&ImageId=ami-1&MinCount=1&MaxCount=1',
      body: '',
      contentType: 'application/x-www-form-urlencoded',
    },
  },
  'google-cloud': {
    profile: googleCloud,
    facts: {
      name: 'gcp',
      keyOf: (r) => text(get(JSON.parse(r.body || '{}'), 'requestId')),
      retentionMs: HOUR,
      // "ignores the request if already completed": the fake answers with the resource.
      replay: 'current-state',
      idPrefix: 'op-',
    },
    write: jsonWrite('POST', '/v1/projects/p/locations/l/hubs?hubId=hub-1', { description: 'hub' }),
  },
  'google-compute': {
    profile: googleCompute,
    facts: {
      name: 'compute',
      keyOf: (r) => r.url.searchParams.get('requestId') ?? undefined,
      retentionMs: HOUR,
      replay: 'current-state',
      idPrefix: '10',
      lookup: (r, visible) => {
        const found = visible.find((v) => r.url.pathname === `${v.path}/${String(v.fields['name'])}`);
        return found === undefined ? undefined : { status: 200, body: { id: found.id, ...found.fields } };
      },
    },
    write: jsonWrite('POST', '/compute/v1/projects/p/zones/z/instances', {
      name: 'vm-1',
      machineType: 'e2-small',
    }),
  },
  'github-issues': {
    profile: githubIssues,
    facts: {
      name: 'github',
      keyOf: () => undefined,
      retentionMs: 0,
      replay: 'none',
      idPrefix: '',
      createdStatus: 201,
      lagMs: 5 * SECOND,
      render: (i) => ({ id: Number(i.id), number: Number(i.id), ...i.fields }),
      lookup: (r, visible) => {
        if (r.url.pathname !== '/repos/o/r/issues') return undefined;
        const since = Date.parse(r.url.searchParams.get('since') ?? '');
        const issues = newestFirst(visible)
          .filter((i) => i.createdAt >= since)
          .map((i) => ({ number: Number(i.id), ...i.fields }));
        return { status: 200, body: issues };
      },
    },
    write: jsonWrite('POST', '/repos/o/r/issues', { title: 'Deploy failed', body: 'Build 42 failed.' }),
  },
  'jira-label': {
    profile: jiraLabels,
    facts: {
      name: 'jira',
      keyOf: () => undefined,
      retentionMs: 0,
      replay: 'none',
      idPrefix: '1000',
      createdStatus: 201,
      lagMs: 2 * MINUTE,
      render: (i) => ({ id: i.id, key: `OPS-${i.id}` }),
      lookup: (r, visible) => {
        if (r.url.pathname !== '/rest/api/3/search/jql') return undefined;
        const value = /"([^"]+)"$/.exec(r.url.searchParams.get('jql') ?? '')?.[1];
        const issues = visible
          .filter((i) => {
            const labels = get(i.fields, 'fields', 'labels');
            const props = i.fields['properties'];
            return (
              (Array.isArray(labels) && labels.includes(value)) ||
              (Array.isArray(props) && props.some((p) => get(p, 'value', 'key') === value))
            );
          })
          .map((i) => ({ id: i.id, key: `OPS-${i.id}` }));
        return { status: 200, body: { issues } };
      },
    },
    write: jsonWrite('POST', '/rest/api/3/issue', {
      fields: { project: { key: 'OPS' }, summary: 'Deploy failed', issuetype: { name: 'Task' } },
    }),
  },
  'salesforce-upsert': {
    profile: salesforceUpsert,
    facts: {
      name: 'salesforce',
      keyOf: () => undefined,
      retentionMs: 0,
      replay: 'natural',
      idPrefix: '001',
      upsert: (r) => r.url.pathname,
    },
    write: jsonWrite('PATCH', '/services/data/v61.0/sobjects/Account/Ext_Id__c/A-1', { Name: 'Acme' }),
  },
  'hubspot-upsert': {
    profile: hubspotUpsert,
    facts: {
      name: 'hubspot',
      keyOf: () => undefined,
      retentionMs: 0,
      replay: 'natural',
      idPrefix: '51',
      upsert: (r) => `${r.url.pathname}/${String(get(JSON.parse(r.body), 'inputs', '0', 'id'))}`,
    },
    write: jsonWrite('POST', '/crm/v3/objects/contacts/batch/upsert', {
      inputs: [{ idProperty: 'email', id: 'a@example.com', properties: { firstname: 'A' } }],
    }),
  },
};

/** The same dialect with the entity-property marker. */
export const jiraPropertyDialect: Dialect = {
  ...(dialects['jira-label'] as Dialect),
  profile: jiraProperties,
};
