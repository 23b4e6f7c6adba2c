/**
 * Output formats of the audit: `table` for people, `json` (the `AuditResult` document) and `csv`
 * (RFC 4180: CRLF line ends, fields quoted when they hold a comma, quote, CR or LF, quotes doubled).
 */
import { AuditResult } from "./audit";
import { Finding, verdictLabel } from "./verdict";
import type { AccountOutcome, OrganizationAuditResult } from "./organization";

export type Format = "table" | "json" | "csv";
export const FORMATS: readonly Format[] = ["table", "json", "csv"];

export function renderJson(result: AuditResult): string {
  return JSON.stringify(result, null, 2) + "\n";
}

/** One RFC 4180 field. */
export function csvField(value: string | number | boolean | null | undefined): string {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180 records: each row's fields joined by commas, each record ended by CRLF. */
export function csvRecords(
  rows: readonly (readonly (string | number | boolean | null | undefined)[])[],
): string {
  return rows.map((row) => row.map(csvField).join(",") + "\r\n").join("");
}

export const CSV_COLUMNS = [
  "user_name",
  "access_key_id",
  "status",
  "create_date",
  "age_days",
  "last_used_date",
  "last_used_service",
  "last_used_region",
  "verdict",
  "reason",
  "next_step",
  "exemption_reason",
  "exemption_expires",
  "exemption_expired",
  "source",
  "last_used_read",
  "rotation_due_date",
  "days_left",
] as const;

export function csvRow(f: Finding): (string | number | boolean | null)[] {
  return [
    f.userName,
    f.accessKeyId,
    f.status,
    f.createDate,
    f.ageDays,
    f.lastUsedDate,
    f.lastUsedService,
    f.lastUsedRegion,
    f.verdict,
    f.reason,
    f.nextStep,
    f.exemption?.reason ?? null,
    f.exemption?.expires ?? null,
    f.exemption ? f.exemption.expired : null,
    f.source,
    f.lastUsedRead,
    f.rotationStopped?.dueDate ?? null,
    f.rotationStopped?.daysLeft ?? null,
  ];
}

export function renderCsv(result: AuditResult): string {
  return csvRecords([[...CSV_COLUMNS], ...result.keys.map(csvRow)]);
}

export const TABLE_COLUMNS = [
  "USER",
  "ACCESS KEY ID",
  "STATUS",
  "CREATED",
  "AGE",
  "LAST USED",
  "VERDICT",
] as const;

function tableCells(f: Finding): string[] {
  return [
    f.userName,
    f.accessKeyId ?? "(no id in report)",
    f.status,
    f.createDate.slice(0, 10),
    String(f.ageDays),
    f.lastUsedDate ? f.lastUsedDate.slice(0, 10) : f.lastUsedRead ? "never" : "not read",
    verdictLabel(f.verdict).toUpperCase(),
  ];
}

/** Columns separated by at least two spaces, so that no cell (none holds two spaces) can blur them. */
function columns(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ") + "\n")
    .join("");
}

export function renderTable(result: AuditResult): string {
  const s = result.summary;
  const out: string[] = [];
  if (result.keys.length > 0) {
    out.push(columns([[...TABLE_COLUMNS], ...result.keys.map(tableCells)]));
  } else {
    out.push("No access keys found.\n");
  }
  out.push(
    `\n${s.users} users, ${s.keys} keys: ${s.rotate} rotate, ${s.delete} delete, ` +
      `${result.settings.checkSchedule ? `${s["rotation-stopped"]} rotation stopped, ` : ""}${s.exempt} exempt, ${s.ok} ok. ` +
      `Limit ${result.settings.maxAgeDays} days, source ${result.source}. ` +
      `${s.compliant ? "Compliant." : "NOT compliant."}\n`,
  );
  const todo = result.keys.filter((f) => f.verdict !== "ok");
  if (todo.length > 0) {
    out.push("\nNext steps:\n");
    for (const f of todo) {
      const key = f.accessKeyId ?? `key created ${f.createDate}`;
      out.push(
        `- ${f.userName} ${key}: ${verdictLabel(f.verdict).toUpperCase()}. ${f.reason} ${f.nextStep}\n`,
      );
    }
  }
  return out.join("");
}

export function render(result: AuditResult, format: Format): string {
  return format === "json" ? renderJson(result) : format === "csv" ? renderCsv(result) : renderTable(result);
}

/** The organization audit's CSV: the account's id and name, then the columns of one account's CSV. */
export const ORGANIZATION_CSV_COLUMNS = ["account_id", "account_name", ...CSV_COLUMNS] as const;

export function renderOrganizationCsv(result: OrganizationAuditResult): string {
  return csvRecords([
    [...ORGANIZATION_CSV_COLUMNS],
    ...result.keys.map((f) => [f.accountId, f.accountName, ...csvRow(f)]),
  ]);
}

function accountLabel(o: { accountId: string; accountName: string | null }): string {
  return o.accountName ? `${o.accountId} (${o.accountName})` : o.accountId;
}

/** One summary line per account: its counts, or why it could not be audited. */
export function accountSummaryLine(o: AccountOutcome): string {
  if (o.status === "unreachable" || !o.summary) {
    return `${accountLabel(o)}: UNREACHABLE (${o.error?.step ?? "audit"}): ${o.error?.message ?? "unknown error"}`;
  }
  const s = o.summary;
  return (
    `${accountLabel(o)}: ${s.users} users, ${s.keys} keys: ${s.rotate} rotate, ${s.delete} delete, ` +
    `${s["rotation-stopped"] > 0 ? `${s["rotation-stopped"]} rotation stopped, ` : ""}` +
    `${s.exempt} exempt, ${s.ok} ok. ${s.compliant ? "Compliant." : "NOT compliant."}`
  );
}

export function renderOrganizationTable(result: OrganizationAuditResult): string {
  const s = result.summary;
  const out: string[] = [];
  if (result.keys.length > 0) {
    out.push(
      columns([["ACCOUNT", ...TABLE_COLUMNS], ...result.keys.map((f) => [f.accountId, ...tableCells(f)])]),
    );
  } else {
    out.push("No access keys found.\n");
  }
  out.push("\nAccounts:\n");
  for (const o of result.accounts) out.push(`- ${accountSummaryLine(o)}\n`);
  for (const a of result.inactiveAccounts) {
    out.push(
      `- ${accountLabel({ accountId: a.id, accountName: a.name ?? null })}: not audited (${a.state}).\n`,
    );
  }
  out.push(
    `\n${s.accounts} accounts (${s.audited} audited, ${s.unreachable} unreachable), ${s.users} users, ${s.keys} keys: ` +
      `${s.rotate} rotate, ${s.delete} delete, ` +
      `${result.settings.checkSchedule ? `${s["rotation-stopped"]} rotation stopped, ` : ""}` +
      `${s.exempt} exempt, ${s.ok} ok. Limit ${result.settings.maxAgeDays} days. ` +
      `${s.unreachable > 0 ? "INCOMPLETE: not every account was audited." : s.compliant ? "Compliant." : "NOT compliant."}\n`,
  );
  const todo = result.keys.filter((f) => f.verdict !== "ok");
  if (todo.length > 0) {
    out.push("\nNext steps:\n");
    for (const f of todo) {
      const key = f.accessKeyId ?? `key created ${f.createDate}`;
      out.push(
        `- ${f.accountId} ${f.userName} ${key}: ${verdictLabel(f.verdict).toUpperCase()}. ${f.reason} ${f.nextStep}\n`,
      );
    }
  }
  return out.join("");
}

export function renderOrganization(result: OrganizationAuditResult, format: Format): string {
  return format === "json"
    ? JSON.stringify(result, null, 2) + "\n"
    : format === "csv"
      ? renderOrganizationCsv(result)
      : renderOrganizationTable(result);
}
