// The fleet helpers for the end-to-end tests now live in test/support/fleet.ts, shared with the
// transport and Deno flows; this keeps the existing e2e imports working.
export * from '../support/fleet.ts'
