"""The map's settings: OpenStreetMap's tiles by default, none when emptied, and a tile URL that could
widen the content security policy (or is not a tile URL at all) stops the start."""
import pytest

from app.config import OSM_ATTRIBUTION, OSM_TILES, ConfigError, load, map_tile_origin
from app.headers import CSP, content_security_policy


def test_map_settings_default_to_openstreetmap_and_can_be_emptied(tmp_path):
    assert load(tmp_path, {})["PROCOMUN_MAP_TILES"] == OSM_TILES
    assert load(tmp_path, {})["PROCOMUN_MAP_ATTRIBUTION"] == OSM_ATTRIBUTION
    own = load(tmp_path, {"PROCOMUN_MAP_TILES": "https://tiles.city.example/{z}/{x}/{y}.png"})
    assert own["PROCOMUN_MAP_ATTRIBUTION"] == ""  # OpenStreetMap's credit is for OpenStreetMap's tiles
    assert load(tmp_path, {"PROCOMUN_MAP_TILES": ""})["PROCOMUN_MAP_TILES"] == ""


@pytest.mark.parametrize("template, origin", [
    (OSM_TILES, "https://tile.openstreetmap.org"),
    ("https://{s}.tiles.city.example:8443/v1/{z}/{x}/{y}.png?key=abc", "https://*.tiles.city.example:8443"),
    ("", ""),
])
def test_the_tile_server_s_origin_is_what_the_policy_allows(template, origin):
    assert map_tile_origin(template) == origin


@pytest.mark.parametrize("template", [
    "tile.openstreetmap.org/{z}/{x}/{y}.png",                         # no scheme
    "javascript:alert(1)//{z}/{x}/{y}",
    "https://tiles.example/{z}/{x}.png",                              # no {y}
    "https://tiles.example; script-src *; /{z}/{x}/{y}.png",          # would widen the policy
    "https://evil.example 'unsafe-inline'/{z}/{x}/{y}.png",
])
def test_a_malformed_tile_setting_stops_the_start(tmp_path, template):
    with pytest.raises(ConfigError, match="PROCOMUN_MAP_TILES"):
        load(tmp_path, {"PROCOMUN_MAP_TILES": template})


def test_the_policy_allows_the_tile_server_for_images_only():
    assert content_security_policy("") == CSP
    policy = content_security_policy("https://tile.openstreetmap.org")
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in policy
    assert policy.count("openstreetmap") == 1
