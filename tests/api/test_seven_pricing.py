"""seven.io price list: the fixtures' SMS prices per country, the main networks the lookups know
(with MCC and MNC) or else phonenumbers' carriers, JSON or CSV, one country or all."""

import csv
import io

import pytest

from emulator.seven.networks import networks_of
from support import SEVEN_JSON


async def pricing(client, **params):
    response = await client.get("/api/pricing", params=params, headers=SEVEN_JSON)
    assert response.status_code == 200, response.text
    return response


async def test_one_country_as_json(client):
    body = (await pricing(client, country="de")).json()
    assert (body["countCountries"], body["countNetworks"]) == (1, len(body["countries"][0]["networks"]))
    (germany,) = body["countries"]
    assert (germany["countryCode"], germany["countryName"], germany["countryPrefix"]) == ("DE", "Germany", "49")
    assert germany["networks"] == [
        {"mcc": n.mccmnc[:3], "mncs": [n.mccmnc[3:]], "networkName": n.name, "price": 0.075,
         "features": ["alpha", "numeric", "dlr"], "comment": ""}
        for n in networks_of("DE")
    ]
    assert {n["mcc"] for n in germany["networks"]} == {"262"}


async def test_elsewhere_the_carriers_without_codes(client):
    (france,) = (await pricing(client, country="FR")).json()["countries"]
    names = [n["networkName"] for n in france["networks"]]
    assert "Bouygues" in names and names == sorted(names, key=str.casefold)
    assert {(n["mcc"], tuple(n["mncs"]), n["price"]) for n in france["networks"]} == {("", (), 0.09)}


async def test_every_country_with_the_default_price_for_the_rest(client):
    body = (await pricing(client)).json()
    by_code = {c["countryCode"]: c for c in body["countries"]}
    assert body["countCountries"] == len(body["countries"]) > 200
    assert body["countNetworks"] == sum(len(c["networks"]) for c in body["countries"])
    expected = {"DE": 0.075, "AT": 0.079, "SE": 0.068, "GB": 0.042, "US": 0.011, "FR": 0.09, "JP": 0.09}
    assert {code: by_code[code]["networks"][0]["price"] for code in expected} == expected
    assert all(c["networks"] for c in body["countries"])  # a country without carrier data has one generic network
    names = [c["countryName"] for c in body["countries"]]
    assert names == sorted(names, key=str.casefold)


async def test_the_list_follows_the_fixture_prices(emulator, client):
    emulator.engine.prices["seven"].sms["FR"] = 1234  # as a fixture file with `FR: 1234` would
    (france,) = (await pricing(client, country="fr")).json()["countries"]
    assert {n["price"] for n in france["networks"]} == {0.1234}


async def test_csv(client):
    response = await pricing(client, country="AT", format="csv")
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0] == '"countryCode";"countryName";"countryPrefix";"mcc";"mncs";"networkName";"price";"features";"comment"'
    rows = list(csv.reader(io.StringIO(response.text), delimiter=";"))[1:]
    first = networks_of("AT")[0]
    assert rows[0] == ["AT", "Austria", "43", "232", first.mccmnc[3:], first.name, "0.079", "alpha,numeric,dlr", ""]
    assert len(rows) == len(networks_of("AT"))
    assert all(line.startswith('"') and line.endswith('"') for line in lines)


async def test_unknown_country_lists_nothing(client):
    assert (await pricing(client, country="XX")).json() == {"countCountries": 0, "countNetworks": 0, "countries": []}


async def test_plain_clients_get_json_by_default(client):
    response = await client.get("/api/pricing", params={"country": "se", "p": "test_api_key"})
    assert response.status_code == 200 and response.json()["countries"][0]["countryName"] == "Sweden"


@pytest.mark.parametrize("params", [{"format": "xml"}])
async def test_bad_format(client, params):
    response = await client.get("/api/pricing", params=params, headers=SEVEN_JSON)
    assert response.status_code == 400 and response.json()["success"] is False


async def test_pricing_needs_a_valid_key(client):
    response = await client.get("/api/pricing", headers={"X-Api-Key": "nope"})
    assert response.status_code == 401 and response.text == "900"
