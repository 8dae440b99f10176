import { describe, expect, it } from "vitest";
import type { Department } from "../bindings/Department";
import { allPlaces, districtsOf, municipalitiesOf, placeLabel, placeOf, prioritizedPlaces } from "./territory";

const departments: Department[] = [
  {
    code: "SV-LI",
    name: "La Libertad",
    municipalities: [
      {
        code: "SV-LI-norte",
        name: "La Libertad Norte",
        districts: [
          { code: "SV-LI-quezaltepeque", name: "Quezaltepeque", prioritized: true },
          { code: "SV-LI-san-matias", name: "San Matías", prioritized: false },
        ],
      },
    ],
  },
  {
    code: "SV-CH",
    name: "Chalatenango",
    municipalities: [
      {
        code: "SV-CH-centro",
        name: "Chalatenango Centro",
        districts: [{ code: "SV-CH-nueva-concepcion", name: "Nueva Concepción", prioritized: true }],
      },
    ],
  },
];

describe("territory cascade", () => {
  it("lists the municipalities and districts of the choice", () => {
    expect(municipalitiesOf(departments, "SV-LI").map((m) => m.code)).toEqual(["SV-LI-norte"]);
    expect(districtsOf(departments, "SV-LI", "SV-LI-norte").map((d) => d.name)).toEqual([
      "Quezaltepeque",
      "San Matías",
    ]);
  });

  it("is empty when nothing (or something unknown) is chosen", () => {
    expect(municipalitiesOf(departments, "")).toEqual([]);
    expect(districtsOf(departments, "SV-LI", "SV-XX")).toEqual([]);
  });

  it("finds a district with its parents", () => {
    const place = placeOf(departments, "SV-CH-nueva-concepcion");
    expect(place?.department_name).toBe("Chalatenango");
    expect(place && placeLabel(place)).toBe("Nueva Concepción — Chalatenango Centro, Chalatenango");
    expect(placeOf(departments, "nope")).toBeUndefined();
  });

  it("flattens every district and keeps the prioritized ones", () => {
    expect(allPlaces(departments)).toHaveLength(3);
    expect(prioritizedPlaces(departments).map((p) => p.district_name)).toEqual([
      "Quezaltepeque",
      "Nueva Concepción",
    ]);
  });
});
