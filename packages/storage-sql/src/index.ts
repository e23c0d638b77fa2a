/**
 * OpenAudience storage over @effect/sql: the event store, migrations and the database layer, for
 * SQLite (embedded default) and PostgreSQL.
 *
 * @since 0.1.0
 */

/**
 * Opening the database from a URL or from `OA_DATABASE_URL`.
 *
 * @since 0.1.0
 */
export * as Database from "./Database.js"

/**
 * The event store service and its SQL and in-memory layers.
 *
 * @since 0.1.0
 */
export * as EventStore from "./EventStore.js"

/**
 * Schema migrations for the storage tables.
 *
 * @since 0.1.0
 */
export * as Migrations from "./Migrations.js"

/**
 * The storage error (`StorageError`, `StorageErrorReason`, `fromSqlError`), exported flat.
 *
 * @since 0.1.0
 */
export * from "./StorageError.js"

/**
 * Stored event models (`StoredEvent`, `SequencedEvent`, `AppendOutcome`, `AppendResult`), exported
 * flat because every caller of the store uses them.
 *
 * @since 0.1.0
 */
export * from "./StoredEvent.js"

/**
 * The audience package's `MembershipStore` over SQL (visitor states, memberships, migrations).
 *
 * @since 0.1.0
 */
export * as SqlMembershipStore from "./SqlMembershipStore.js"

/**
 * The anonymizer package's `PrivacyBudget` over SQL: the (tenant, partner) privacy ledger and its migrations.
 *
 * @since 0.2.0
 */
export * as SqlPrivacyBudget from "./SqlPrivacyBudget.js"

/**
 * The rows partner reports are made from: measured events per visitor and dimension values.
 *
 * @since 0.2.0
 */
export * as EventReports from "./EventReports.js"

/**
 * Audience definitions per tenant (name, status, rule document, version) and the revision workers apply.
 *
 * @since 0.1.0
 */
export * as AudienceStore from "./AudienceStore.js"

/**
 * The audience package's `SyncStore` over SQL (applied programs, sync status, the job's cursor, daily entries and
 * exits), and `status` / `daily` / `applied` for admin APIs.
 *
 * @since 0.2.0
 */
export * as SqlSyncStore from "./SqlSyncStore.js"

/**
 * The audience job for eventlog's `Consumer` runner, and the audience `Sync` ports over this package's stores.
 *
 * @since 0.2.0
 */
export * as SqlAudienceJob from "./SqlAudienceJob.js"

/**
 * @openaudience/eventlog's `EventLog` port over two SQL tables (the embedded event log), with its migrations.
 *
 * @since 0.2.0
 */
export * as SqlEventLog from "./SqlEventLog.js"

/**
 * Events per tenant, UTC day and type, kept by a job over the log of stored events; `read` for statistics.
 *
 * @since 0.2.0
 */
export * as DailyCounts from "./DailyCounts.js"

/**
 * The standard workers: the jobs every deployment runs over the event log, in-process or on a thread of their own.
 *
 * @since 0.2.0
 */
export * as Workers from "./Workers.js"

/**
 * The one write path for events: an append log in front of the database (a writer thread on a SQLite file, group
 * commit on PostgreSQL), with the event log's records in every transaction.
 *
 * @since 0.2.0
 */
export * as EventWriter from "./EventWriter.js"

/**
 * How far the consumers of the SQL event log are behind it (records and seconds), read when metrics are scraped.
 *
 * @since 0.2.0
 */
export * as WorkerLag from "./WorkerLag.js"

/**
 * @openaudience/tenancy's `TenancyStore` over SQL: tenants, sites and API keys (digests only), with a revision every
 * change bumps, and its migrations.
 *
 * @since 0.2.0
 */
export * as SqlTenancyStore from "./SqlTenancyStore.js"

/**
 * @openaudience/audit's `AuditLog` over SQL: the hash-chained entries and their head, appended in one transaction.
 *
 * @since 0.2.0
 */
export * as SqlAuditLog from "./SqlAuditLog.js"

/**
 * @openaudience/vault's `KeyStore` over SQL: wrapped data keys per (tenant, subject) and master secret fingerprints.
 *
 * @since 0.3.0
 */
export * as SqlKeyStore from "./SqlKeyStore.js"

/**
 * @openaudience/inquiries' `InquiryStore` over SQL: contact-form inquiries (ciphertexts only), and its migrations.
 *
 * @since 0.3.0
 */
export * as SqlInquiryStore from "./SqlInquiryStore.js"

/**
 * @openaudience/accounts' `UserStore` over SQL: users (personal fields as ciphertexts only), invitations, sessions,
 * resets, login failures and payment methods, with its migrations.
 *
 * @since 0.3.0
 */
export * as SqlUserStore from "./SqlUserStore.js"

/**
 * @openaudience/catalog's `CatalogStore` over SQL: products per tenant (prices in integer minor units), replaced
 * in one transaction, and its migrations.
 *
 * @since 0.4.0
 */
export * as SqlCatalogStore from "./SqlCatalogStore.js"

/**
 * @openaudience/ad-selector's `CapStore` over SQL: frequency-cap counters per tenant, visitor key and cap key,
 * counted by an upsert that adds in the database; `eraseVisitor` for erasure jobs; and its migrations.
 *
 * @since 0.4.0
 */
export * as SqlCapStore from "./SqlCapStore.js"

/**
 * @openaudience/ad-selector's `DeliveryStore` over SQL: campaign spend in integer millis (today's and in all),
 * charged by one conditional update that never overspends, the pacing state, and its migrations.
 *
 * @since 0.4.0
 */
export * as SqlDeliveryStore from "./SqlDeliveryStore.js"

/**
 * @openaudience/ad-selector's `CampaignStore` over SQL: campaigns as their JSON form, ids unique across tenants, the
 * revision every change bumps in its transaction, and its migrations.
 *
 * @since 0.4.0
 */
export * as SqlCampaignStore from "./SqlCampaignStore.js"

/**
 * @openaudience/ad-selector's `AdLog` over SQL: decisions with their impressions and click (each counted once),
 * conversions once per order, touches, daily statistics counted by the database, erasure by visitor, and its
 * migrations.
 *
 * @since 0.4.0
 */
export * as SqlAdLog from "./SqlAdLog.js"

/**
 * @openaudience/ad-selector's `BrowserLinks` over SQL: the browser key (a tenant's pseudonym of the ad server's
 * cookie) to visitor links, linked by one upsert (an older link never replaces a newer one), `eraseVisitor` for
 * erasure jobs, and its migrations.
 *
 * @since 0.4.0
 */
export * as SqlBrowserLinks from "./SqlBrowserLinks.js"

/**
 * @openaudience/ad-selector's `Visitors` over the audience, membership and event tables: targetable audiences (active,
 * at or above the k floor), a visitor's profile and product history that may personalize, in one or two indexed
 * queries each.
 *
 * @since 0.4.0
 */
export * as SqlVisitors from "./SqlVisitors.js"

/**
 * @since 0.4.0
 */
export * as AdAttribution from "./AdAttribution.js"

/**
 * The stores of subject data of this package for @openaudience/dsar's registry (count, export and erase a visitor,
 * a browser or an application user), the live-schema check and the erasure transaction.
 *
 * @since 0.5.0
 */
export * as SqlSubjectStores from "./SqlSubjectStores.js"

/**
 * The tombstones of erased visitor pseudonyms, which the collector checks so that an erased visitor's browser gets a
 * new pseudonym (`record`, `since`, `all`).
 *
 * @since 0.5.0
 */
export * as SqlErasedVisitors from "./SqlErasedVisitors.js"

/**
 * @openaudience/dsar's `DsarStore` over SQL: data-subject requests with optimistic versions, legal holds, signed
 * reports, webhook recipients and deliveries, and objections, with their migrations.
 *
 * @since 0.5.0
 */
export * as SqlDsarStore from "./SqlDsarStore.js"

/**
 * @openaudience/dsar's `Dsar` service assembled over this package's stores (erasure transaction, vault-sealed webhook
 * secrets, audit log, tombstones before erasure): the one assembly the server and the CLI share.
 *
 * @since 0.5.0
 */
export * as SqlDsar from "./SqlDsar.js"
