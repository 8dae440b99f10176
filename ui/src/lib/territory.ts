import type { Department } from "../bindings/Department";
import type { Municipality } from "../bindings/Municipality";
import type { District } from "../bindings/District";
import type { Place } from "../bindings/Place";

/** Municipalities of the department `departmentCode`, empty when none is chosen. */
export function municipalitiesOf(departments: Department[], departmentCode: string): Municipality[] {
  return departments.find((d) => d.code === departmentCode)?.municipalities ?? [];
}

/** Districts of the municipality `municipalityCode` within the chosen department. */
export function districtsOf(
  departments: Department[],
  departmentCode: string,
  municipalityCode: string,
): District[] {
  return (
    municipalitiesOf(departments, departmentCode).find((m) => m.code === municipalityCode)
      ?.districts ?? []
  );
}

/** Every district with its municipality and department, in the territory's order. */
export function allPlaces(departments: Department[]): Place[] {
  return departments.flatMap((dep) =>
    dep.municipalities.flatMap((mun) =>
      mun.districts.map((dis) => ({
        department_code: dep.code,
        department_name: dep.name,
        municipality_code: mun.code,
        municipality_name: mun.name,
        district_code: dis.code,
        district_name: dis.name,
        prioritized: dis.prioritized,
      })),
    ),
  );
}

export function placeOf(departments: Department[], districtCode: string): Place | undefined {
  return allPlaces(departments).find((p) => p.district_code === districtCode);
}

export function prioritizedPlaces(departments: Department[]): Place[] {
  return allPlaces(departments).filter((p) => p.prioritized);
}

/** "San Pablo Tacachico — La Libertad Norte, La Libertad" */
export function placeLabel(place: Place): string {
  return `${place.district_name} — ${place.municipality_name}, ${place.department_name}`;
}
