/**
 * PURE: the operator's commands as the journal names them. An admin command
 * (src/admin/) is stepped by the client machine like a hook and journaled
 * as its own record, whose `hook` is the command's name; the names equal the
 * machine's `admin.*` event types (test/admin/events.test.ts holds them equal).
 */
import { HOOK_NAMES, type HookName } from './hook-event.js';

export const ADMIN_COMMANDS = [
  'admin.ban',
  'admin.unban',
  'admin.quarantine',
  'admin.release',
  'admin.override',
  'admin.clear_override',
] as const;
export type AdminCommand = (typeof ADMIN_COMMANDS)[number];

/** What a journal record is about: an EMQX hook, or an operator's command. */
export type RecordHook = HookName | AdminCommand;

/** Every record kind: the hooks first, then the commands. */
export const RECORD_HOOKS: readonly RecordHook[] = [...HOOK_NAMES, ...ADMIN_COMMANDS];
