#!/usr/bin/env python3
"""Regenerates data/calling_codes.csv and data/nanp_area_codes.csv.

Source: the metadata of libphonenumber-js (npm package `libphonenumber-js`,
file metadata.min.json, MIT licence), itself generated from Google's
libphonenumber PhoneNumberMetadata.xml (Apache-2.0). The build never runs
this script; the CSV files are kept in the repository as data.

  npm pack libphonenumber-js@1 && tar xzf libphonenumber-js-*.tgz
  tools/gen_phone_tables.py package/metadata.min.json package/package.json

calling_codes.csv: calling code -> ISO 3166 region used when a number does
not narrow it further (libphonenumber's main country for that code).
nanp_area_codes.csv: +1 area code -> region, for every area code not in the
US (Canada and the Caribbean/Pacific NANP members). Canada's area codes are
the ones its fixed-line or mobile pattern accepts; the others come from each
region's leading-digits list.
"""
import json
import re
import sys


def main(metadata_path, package_json):
    meta = json.load(open(metadata_path))
    version = json.load(open(package_json))["version"]
    header = "# source: libphonenumber-js %s metadata.min.json (MIT; from Google libphonenumber, Apache-2.0)\n" % version
    codes = meta["country_calling_codes"]
    with open("data/calling_codes.csv", "w") as f:
        f.write(header)
        f.write("calling_code,region\n")
        for code in sorted(codes, key=lambda c: (len(c), c)):
            f.write("%s,%s\n" % (code, codes[code][0]))

    countries = meta["countries"]
    area = {}
    for region in codes["1"]:
        if region == "US":
            continue
        entry = countries[region]
        leading = entry[10] if len(entry) > 10 else 0
        if isinstance(leading, str) and leading:
            for ac in range(200, 1000):
                if re.fullmatch(leading, str(ac)):
                    area[ac] = region
        elif region == "CA":
            types = entry[11] if len(entry) > 11 else []
            patterns = [t[0] for t in types[:2] if isinstance(t, list) and t]
            for ac in range(200, 1000):
                sample = [str(ac) + tail for tail in ("2345678", "5550123", "9876543")]
                if any(re.fullmatch(p, s) for p in patterns for s in sample):
                    area.setdefault(ac, "CA")
    with open("data/nanp_area_codes.csv", "w") as f:
        f.write(header)
        f.write("area_code,region\n")
        for ac in sorted(area):
            f.write("%d,%s\n" % (ac, area[ac]))
    print("calling codes: %d, non-US NANP area codes: %d" % (len(codes), len(area)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
