#include "shared/target.h"

#include <doctest/doctest.h>

#include <string>

namespace shorty {
namespace {

struct Accepted {
  std::string raw;
  std::string normalized;
};

struct Refused {
  std::string raw;
  std::string message;
};

TargetRules Rules() {
  TargetRules rules;
  rules.own_hosts = {"go.example.com", "localhost:8080"};
  return rules;
}

TEST_CASE("NormalizeTarget accepts and normalises") {
  const Accepted cases[] = {
      // Already normal.
      {"https://example.com/", "https://example.com/"},
      {"http://example.com/page", "http://example.com/page"},
      {"https://example.com/a/b?c=d&e=f#g",
       "https://example.com/a/b?c=d&e=f#g"},
      // Empty path becomes "/", before a query or fragment too.
      {"https://example.com", "https://example.com/"},
      {"https://example.com?q=1", "https://example.com/?q=1"},
      {"https://example.com#top", "https://example.com/#top"},
      // Scheme and host lower-cased; path, query and fragment kept as given.
      {"HTTPS://EXAMPLE.COM/Path?Q=A#Frag",
       "https://example.com/Path?Q=A#Frag"},
      {"HtTp://Example.Com", "http://example.com/"},
      // Default ports dropped, others kept, leading zeros normalised.
      {"https://example.com:443/", "https://example.com/"},
      {"http://example.com:80/x", "http://example.com/x"},
      {"http://example.com:0080/x", "http://example.com/x"},
      {"https://example.com:80/", "https://example.com:80/"},
      {"http://example.com:443/", "http://example.com:443/"},
      {"https://example.com:8443/", "https://example.com:8443/"},
      {"https://example.com:65535/", "https://example.com:65535/"},
      {"https://example.com:1/", "https://example.com:1/"},
      {"https://example.com:/", "https://example.com/"},
      // Internationalised hosts become punycode; punycode stays.
      {"https://bücher.example/", "https://xn--bcher-kva.example/"},
      {"https://BÜCHER.example/", "https://xn--bcher-kva.example/"},
      {"https://xn--bcher-kva.example/", "https://xn--bcher-kva.example/"},
      {"https://XN--BCHER-KVA.example/", "https://xn--bcher-kva.example/"},
      {"https://例え.テスト/", "https://xn--r8jz45g.xn--zckzah/"},
      {"https://faß.de/", "https://xn--fa-hia.de/"},
      {"https://bücher.example:8443/ü",
       "https://xn--bcher-kva.example:8443/%C3%BC"},
      // IP literals.
      {"http://127.0.0.1:8000/", "http://127.0.0.1:8000/"},
      {"https://[::1]/", "https://[::1]/"},
      {"https://[::1]:8443/x", "https://[::1]:8443/x"},
      {"https://[2001:DB8::A]:443/", "https://[2001:db8::a]/"},
      {"https://[2001:db8:0:0:0:0:0:1]/", "https://[2001:db8:0:0:0:0:0:1]/"},
      {"https://[::ffff:192.0.2.1]/", "https://[::ffff:192.0.2.1]/"},
      // Host names with underscores, trailing dots.
      {"https://build_01.corp.example/", "https://build_01.corp.example/"},
      {"https://example.com./", "https://example.com./"},
      // Percent escapes kept as written, any case; %20 is an encoded space,
      // not a control character.
      {"https://example.com/a%2Fb%2fc", "https://example.com/a%2Fb%2fc"},
      {"https://example.com/two%20words", "https://example.com/two%20words"},
      {"https://example.com/100%25", "https://example.com/100%25"},
      // Characters never valid raw are encoded; others kept.
      {"https://example.com/a\"b", "https://example.com/a%22b"},
      {"https://example.com/<script>", "https://example.com/%3Cscript%3E"},
      {"https://example.com/?q=a|b^c`d",
       "https://example.com/?q=a%7Cb%5Ec%60d"},
      {"https://example.com/{x}", "https://example.com/%7Bx%7D"},
      {"https://example.com/a\\b", "https://example.com/a%5Cb"},
      {"https://example.com/a'b(c)*!$,;=:@~[]",
       "https://example.com/a'b(c)*!$,;=:@~[]"},
      {"https://example.com/?a=1&b=/?#x/?#",
       "https://example.com/?a=1&b=/?#x/?#"},
      // Non-ASCII in path, query and fragment: UTF-8 bytes encoded.
      {"https://example.com/ü?q=é#ß",
       "https://example.com/%C3%BC?q=%C3%A9#%C3%9F"},
      {"https://example.com/\xFF", "https://example.com/%FF"},
      // The {path} placeholder survives for BuildLocation.
      {"https://example.com/{path}", "https://example.com/{path}"},
      {"https://example.com/search?q={path}#{path}",
       "https://example.com/search?q={path}#{path}"},
      {"https://example.com/{path", "https://example.com/%7Bpath"},
      // The own host on another port is another service.
      {"http://localhost:3000/", "http://localhost:3000/"},
      // '@' after the host is path, not userinfo.
      {"https://example.com/@user", "https://example.com/@user"},
  };
  for (const Accepted& c : cases) {
    CAPTURE(c.raw);
    Result<std::string> got = NormalizeTarget(c.raw, Rules());
    REQUIRE_MESSAGE(got.ok(), got.status().message());
    CHECK(*got == c.normalized);
    // Normalising is idempotent: a stored target checks again unchanged.
    Result<std::string> again = NormalizeTarget(*got, Rules());
    REQUIRE(again.ok());
    CHECK(*again == *got);
  }
}

TEST_CASE("NormalizeTarget refuses, naming the rule") {
  const std::string scheme_message = "is not allowed; use http or https";
  const std::string absolute =
      "target: must be an absolute URL such as https://example.com/page";
  const std::string credentials =
      "target: credentials in URLs (user@host) are not allowed; they are a "
      "common phishing trick";
  const std::string no_host =
      "target: must name a host, as in https://example.com/page";
  const std::string bad_escape =
      "target: '%' must start an escape of two hex digits; write %25 for a "
      "literal '%'";
  const std::string backslash =
      "target: '\\' is not allowed before the path; browsers read it as '/'";
  const Refused cases[] = {
      // Schemes.
      {"javascript:alert(1)", "target: scheme 'javascript' " + scheme_message},
      {"JavaScript:alert(document.cookie)",
       "target: scheme 'javascript' " + scheme_message},
      {"data:text/html;base64,PHNjcmlwdD4=",
       "target: scheme 'data' " + scheme_message},
      {"ftp://example.com/", "target: scheme 'ftp' " + scheme_message},
      {"file:///etc/passwd", "target: scheme 'file' " + scheme_message},
      {"mailto:a@example.com", "target: scheme 'mailto' " + scheme_message},
      // Relative or scheme-less.
      {"", absolute},
      {"/local/path", absolute},
      {"page.html", absolute},
      {"example.com/page", absolute},
      {"//example.com/page", absolute},
      {"example.com:8080/page", absolute},
      {"localhost:3000", absolute},
      {"http:example.com", absolute},
      {"https:/example.com", absolute},
      {"1http://example.com", absolute},
      // Backslashes before the path.
      {"https:\\\\evil.example/", absolute},
      {"https:/\\evil.example/", absolute},
      {"https://\\evil.example/", backslash},
      {"https://evil.example\\@good.example/", backslash},
      // Userinfo.
      {"https://user@example.com/", credentials},
      {"https://user:pass@example.com/", credentials},
      {"https://good.example@evil.example/", credentials},
      {"https://@example.com/", credentials},
      // Missing host.
      {"https://", no_host},
      {"https:///path", no_host},
      {"https://:443/", no_host},
      {"https://?q=1", no_host},
      // Raw whitespace and control characters, anywhere.
      {"https://example.com/a b",
       "target: must not contain whitespace or control characters; found a "
       "space (encode it as %20)"},
      {" https://example.com/",
       "target: must not contain whitespace or control characters; found a "
       "space (encode it as %20)"},
      {"https://example.com/\tx",
       "target: must not contain whitespace or control characters; found a "
       "tab"},
      {"https://example.com/\r\nSet-Cookie: a=b",
       "target: must not contain whitespace or control characters; found a "
       "carriage return"},
      {"https://example.com/\nx",
       "target: must not contain whitespace or control characters; found a "
       "line break"},
      {"https://exam\nple.com/",
       "target: must not contain whitespace or control characters; found a "
       "line break"},
      {std::string("https://example.com/\0x", 22),
       "target: must not contain whitespace or control characters; found the "
       "control character \\x00"},
      {"https://example.com/\x7f",
       "target: must not contain whitespace or control characters; found the "
       "control character \\x7F"},
      {"javascript:alert(1)\n",
       "target: must not contain whitespace or control characters; found a "
       "line break"},
      // Percent-encoded control characters, either case of hex.
      {"https://example.com/%0d%0aSet-Cookie:a=b",
       "target: must not contain encoded control characters; found %0d"},
      {"https://example.com/%0D%0A",
       "target: must not contain encoded control characters; found %0D"},
      {"https://example.com/?q=%00",
       "target: must not contain encoded control characters; found %00"},
      {"https://example.com/#%1f",
       "target: must not contain encoded control characters; found %1f"},
      {"https://example.com/%7F",
       "target: must not contain encoded control characters; found %7F"},
      {"https://example.com/%09",
       "target: must not contain encoded control characters; found %09"},
      // Malformed percent escapes.
      {"https://example.com/100%", bad_escape},
      {"https://example.com/%4", bad_escape},
      {"https://example.com/%zz", bad_escape},
      {"https://example.com/?q=%g0", bad_escape},
      {"https://example.com/#%", bad_escape},
      // Ports.
      {"https://example.com:0/",
       "target: port '0' must be a number from 1 to 65535"},
      {"https://example.com:65536/",
       "target: port '65536' must be a number from 1 to 65535"},
      {"https://example.com:000443/",
       "target: port '000443' must be a number from 1 to 65535"},
      {"https://example.com:http/",
       "target: port 'http' must be a number from 1 to 65535"},
      {"https://example.com:-1/",
       "target: port '-1' must be a number from 1 to 65535"},
      {"https://example.com:443:443/",
       "target: port '443:443' must be a number from 1 to 65535"},
      // Host characters.
      {"https://exa<mple.com/",
       "target: the host may contain only letters, digits, '-', '.' and '_'; "
       "found '<'"},
      {"https://exa\"mple.com/",
       "target: the host may contain only letters, digits, '-', '.' and '_'; "
       "found '\"'"},
      {"https://{path}.example.com/",
       "target: the host may contain only letters, digits, '-', '.' and '_'; "
       "found '{'"},
      {"https://ex%61mple.com/",
       "target: the host may contain only letters, digits, '-', '.' and '_'; "
       "found '%'"},
      {"https://.example.com/",
       "target: host '.example.com' has an empty label"},
      {"https://a..example.com/",
       "target: host 'a..example.com' has an empty label"},
      {"https://\xFF.example/",
       "target: host '\\xFF.example' is not a valid internationalised domain "
       "name (string encoding error)"},
      // IPv6.
      {"https://[::1/",
       "target: host '[::1' is not a valid IPv6 address in brackets"},
      {"https://[::g]/",
       "target: host '[::g]' is not a valid IPv6 address in brackets"},
      {"https://[1:2:3:4:5:6:7]/",
       "target: host '[1:2:3:4:5:6:7]' is not a valid IPv6 address in "
       "brackets"},
      {"https://[1::2::3]/",
       "target: host '[1::2::3]' is not a valid IPv6 address in brackets"},
      {"https://[fe80::1%25eth0]/",
       "target: host '[fe80::1%25eth0]' is not a valid IPv6 address in "
       "brackets"},
      {"https://[::1]x/",
       "target: host '[::1]x' is not a valid IPv6 address in brackets"},
      {"https://[]/",
       "target: host '[]' is not a valid IPv6 address in brackets"},
      // This shortener's own host, however it is spelled.
      {"https://go.example.com/x",
       "target: points at this shortener itself (go.example.com); that would "
       "loop"},
      {"HTTP://GO.EXAMPLE.COM:8080/",
       "target: points at this shortener itself (go.example.com); that would "
       "loop"},
      {"https://go.example.com./",
       "target: points at this shortener itself (go.example.com.); that would "
       "loop"},
      {"https://ｇｏ.example.com/",
       "target: points at this shortener itself (go.example.com); that would "
       "loop"},
      {"http://localhost:8080/",
       "target: points at this shortener itself (localhost); that would loop"},
  };
  for (const Refused& c : cases) {
    CAPTURE(c.raw);
    Result<std::string> got = NormalizeTarget(c.raw, Rules());
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().code() == Code::kInvalidArgument);
    CHECK(got.status().message() == c.message);
  }
}

TEST_CASE("NormalizeTarget limits the normalised length") {
  const std::string prefix = "https://example.com/";
  const std::string at_limit = prefix + std::string(4096 - prefix.size(), 'a');
  Result<std::string> ok = NormalizeTarget(at_limit, TargetRules());
  REQUIRE(ok.ok());
  CHECK(ok->size() == 4096);

  Result<std::string> over = NormalizeTarget(at_limit + "a", TargetRules());
  REQUIRE_FALSE(over.ok());
  CHECK(over.status().message() == "target: longer than 4096 bytes");

  // Measured after normalisation: encoding can push a URL over...
  const std::string encoded =
      prefix + std::string(4090 - prefix.size(), 'a') + "\"\"\"";
  CHECK_FALSE(NormalizeTarget(encoded, TargetRules()).ok());
  // ...and dropping a default port can bring one under.
  const std::string port =
      "https://example.com:443/" + std::string(4096 - prefix.size(), 'a');
  CHECK(NormalizeTarget(port, TargetRules()).ok());

  TargetRules small;
  small.max_length = 30;
  Result<std::string> got =
      NormalizeTarget("https://example.com/abcdefghijk", small);
  REQUIRE_FALSE(got.ok());
  CHECK(got.status().message() == "target: longer than 30 bytes");
}

TEST_CASE("NormalizeTarget follows the configured schemes") {
  TargetRules rules;
  rules.schemes = {"http", "https", "ftp"};
  Result<std::string> ftp = NormalizeTarget("FTP://Files.Example:21/x", rules);
  REQUIRE(ftp.ok());
  CHECK(*ftp == "ftp://files.example/x");
  Result<std::string> js = NormalizeTarget("javascript:alert(1)", rules);
  REQUIRE_FALSE(js.ok());
  CHECK(js.status().message() ==
        "target: scheme 'javascript' is not allowed; use http, https or ftp");

  rules.schemes = {"https"};
  Result<std::string> http = NormalizeTarget("http://example.com/", rules);
  REQUIRE_FALSE(http.ok());
  CHECK(http.status().message() ==
        "target: scheme 'http' is not allowed; use https");
}

TEST_CASE("TargetHost") {
  const Accepted cases[] = {
      {"https://example.com/", "example.com"},
      {"https://example.com:8443/a", "example.com"},
      {"https://xn--bcher-kva.example/?q=1", "xn--bcher-kva.example"},
      {"https://[::1]:8443/", "[::1]"},
      {"https://example.com?q=a:b", "example.com"},
      {"https://example.com#a:b", "example.com"},
      {"not a url", ""},
  };
  for (const Accepted& c : cases) {
    CAPTURE(c.raw);
    CHECK(TargetHost(c.raw) == c.normalized);
  }
}

}  // namespace
}  // namespace shorty

TEST_CASE("PercentEncode keeps unreserved bytes and escapes the rest") {
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      {"abc-XYZ_09.~", "abc-XYZ_09.~"},   {"a/b?c#d", "a%2Fb%3Fc%23d"},
      {"a b&c=d", "a%20b%26c%3Dd"},       {"\xc3\xbc", "%C3%BC"},
      {std::string("\0\n", 2), "%00%0A"}, {"", ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.in);
    CHECK(shorty::PercentEncode(c.in) == c.out);
  }
}
