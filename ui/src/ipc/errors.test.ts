import { describe, expect, it, vi } from "vitest";

vi.mock("@tauri-apps/api/core", () => ({
  invoke: vi.fn(async (command: string) => {
    if (command === "territory_search") throw { code: "invalid_query", message: "Consulta inválida" };
    throw "boom";
  }),
}));

const { territory, toIpcError } = await import("./index");

describe("ipc errors", () => {
  it("keeps a structured error from Rust", () => {
    expect(toIpcError({ code: "x", message: "y" })).toEqual({ code: "x", message: "y" });
  });

  it("wraps anything else as an ipc error", () => {
    expect(toIpcError("texto")).toEqual({ code: "ipc", message: "texto" });
    expect(toIpcError({ code: 1 }).code).toBe("ipc");
  });

  it("commands reject with IpcError", async () => {
    await expect(territory.search("x")).rejects.toEqual({ code: "invalid_query", message: "Consulta inválida" });
    await expect(territory.departments()).rejects.toEqual({ code: "ipc", message: "boom" });
  });
});
