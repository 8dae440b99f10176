import { describe, expect, it } from "vitest";
import { COUNTRY_CODES, countryCodeOf, countryName, searchCountries } from "./countries";

describe("countries", () => {
  it("are named in the UI's language", () => {
    expect(countryName("US", "es")).toBe("Estados Unidos");
    expect(countryName("mx", "es")).toBe("México");
    expect(countryName("US", "en")).toBe("United States");
    expect(countryName("???", "es")).toBe("???");
  });
  it("take a code or a name as typed, accents optional", () => {
    expect(countryCodeOf("us")).toBe("US");
    expect(countryCodeOf(" Estados Unidos ")).toBe("US");
    expect(countryCodeOf("mexico")).toBe("MX");
    expect(countryCodeOf("México")).toBe("MX");
    expect(countryCodeOf("Mexico")).toBe("MX");
    expect(countryCodeOf("United States")).toBe("US");
    expect(countryCodeOf("USA")).toBeNull();
    expect(countryCodeOf("ZZ")).toBeNull();
    expect(countryCodeOf("")).toBeNull();
  });
  it("are searched by the start of a word, common ones first", () => {
    expect(searchCountries("", "es")[0]).toBe("US");
    expect(searchCountries("mex", "es")).toEqual(["MX"]);
    expect(searchCountries("guat", "es")).toEqual(["GT"]);
    expect(searchCountries("unidos", "es")).toContain("US");
    expect(COUNTRY_CODES).not.toContain("SV");
  });
});
