// What the signed-in user may do: the permissions Rust sent with the session (core's table).
// Screens ask `may(…)` to show only what Rust would allow; Rust checks again on every command.
import type { Permission } from "../bindings/Permission";

const granted = $state<{ permissions: Permission[] }>({ permissions: [] });

export function setPermissions(permissions: Permission[]): void {
  granted.permissions = permissions;
}

export function may(permission: Permission): boolean {
  return granted.permissions.includes(permission);
}
