import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { isEmail } from 'class-validator';
import { parseArgs } from 'node:util';
import { AppConfig, ConfigError, loadConfig } from '../config/app.config';
import { DatabaseModule } from '../database/database.module';
import { prepareDatabase } from '../database/prepare-database';
import { PasswordHasher } from '../users/password-hasher';
import { RedisModule } from '../redis/redis.module';
import { UsersModule } from '../users/users.module';
import { normaliseEmail, UsersService } from '../users/users.service';

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  create-admin --email <email> --password <password> [--name <full name>]
      Creates an administrator, or promotes (and re-activates) the existing user with that e-mail.
      An existing user's password and name are left unchanged; --password may be omitted for them.

Reads the same environment as the service (DATABASE_URL, ...); creates the database and applies pending
migrations first if needed.`;

/** A mistake in the command line: printed with the usage, exit code 1. */
export class UsageError extends Error {}

export interface CreateAdminArgs {
  email: string;
  password: string | null;
  name: string | null;
}

/** Parses and validates `create-admin` options (the same rules as registration). */
export function parseCreateAdminArgs(argv: string[]): CreateAdminArgs {
  let values: { email?: string; password?: string; name?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const problems: string[] = [];
  const email = values.email === undefined ? '' : normaliseEmail(values.email);
  if (!email) problems.push('--email is required');
  else if (!isEmail(email) || email.length > 320)
    problems.push(`--email "${values.email}" is not a valid e-mail address`);
  const password = values.password ?? null;
  if (password !== null && (password.length < 8 || password.length > 256)) {
    problems.push('--password must be 8 to 256 characters long');
  }
  const name = values.name === undefined ? null : values.name.trim();
  if (name !== null && (name.length < 1 || name.length > 200))
    problems.push('--name must be 1 to 200 characters long');
  if (problems.length) throw new UsageError(problems.join('\n'));
  return { email, password, name };
}

/** Only what the CLI needs: configuration, the database and the users feature (no Redis, queues or HTTP). */
@Module({})
class CliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [() => config] }),
        DatabaseModule,
        // Promoting an admin bumps the access epoch, so the CLI talks to Redis too.
        RedisModule,
        UsersModule,
      ],
    };
  }
}

async function createAdmin(argv: string[], config: AppConfig): Promise<string> {
  const args = parseCreateAdminArgs(argv);
  await prepareDatabase(config.databaseUrl);
  const app = await NestFactory.createApplicationContext(CliModule.forRoot(config), {
    logger: ['error', 'warn'],
  });
  try {
    return await RequestContext.create(app.get(MikroORM).em, async () => {
      const users = app.get(UsersService);
      const existing = await users.findByEmail(args.email);
      if (!existing && args.password === null) {
        throw new UsageError(`No user ${args.email} exists yet: --password is required to create one`);
      }
      const hashed = existing ? '' : await app.get(PasswordHasher).hash(args.password ?? '');
      const fullName = args.name ?? args.email.split('@')[0] ?? args.email;
      const { user, created } = await users.createOrPromoteAdmin(args.email, hashed, fullName);
      return created
        ? `Created administrator ${user.email} (id ${user.id})`
        : `Promoted existing user ${user.email} (id ${user.id}) to administrator; it is active, its password and name are unchanged`;
    });
  } finally {
    await app.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      console.log(USAGE);
      return command === undefined ? 1 : 0;
    }
    if (command !== 'create-admin') throw new UsageError(`Unknown command "${command}"`);
    console.log(await createAdmin(rest, loadConfig()));
    return 0;
  } catch (error) {
    if (error instanceof UsageError) console.error(`Error: ${error.message}\n\n${USAGE}`);
    else if (error instanceof ConfigError) console.error(error.message);
    else console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
