// The PostgreSQL the storage tests use (the machine's, trust auth); each suite works in its own schema.
export const databaseUrl: string = process.env.THRESH_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
