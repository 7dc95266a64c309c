using System.Globalization;
using System.Net;

namespace Orchestrator.Node;

/// <summary>
/// A TCP listening address, an IP address (or localhost) and a port; port 0 lets the system pick one. The HTTP API's
/// address, and the NBD export's when it is served over TCP.
/// </summary>
public sealed record HttpEndpoint
{
    public HttpEndpoint(string host, int port)
    {
        if (port is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(port), port, "the port must be between 0 and 65535");
        }

        if (host != "localhost" && !IPAddress.TryParse(host, out _))
        {
            throw new ArgumentException($"'{host}' is neither an IP address nor localhost", nameof(host));
        }

        Host = host;
        Port = port;
    }

    public static HttpEndpoint Default { get; } = new("127.0.0.1", 8080);

    public string Host { get; }

    public int Port { get; }

    /// <summary>True when only this machine can connect (the token then never crosses a network).</summary>
    public bool IsLoopback => Host == "localhost" || IPAddress.IsLoopback(IPAddress.Parse(Host));

    /// <summary>Parses HOST:PORT, [IPv6]:PORT, or either with an http:// prefix.</summary>
    public static bool TryParse(string text, out HttpEndpoint? endpoint)
    {
        endpoint = null;
        var value = text.Trim();
        if (value.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            value = value["http://".Length..].TrimEnd('/');
        }

        var colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            return false;
        }

        var host = value[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }
        else if (host.Contains(':'))
        {
            return false;
        }

        if (host != "localhost" && !IPAddress.TryParse(host, out _))
        {
            return false;
        }

        endpoint = new HttpEndpoint(host, port);
        return true;
    }

    /// <summary>The URL a client on this machine uses for <paramref name="port"/> (a wildcard address becomes loopback).</summary>
    public string ClientUrl(int port) => "http://" + ClientAuthority(port);

    /// <summary>HOST:PORT as a client on this machine writes it in a URI (a wildcard address becomes loopback, IPv6 in brackets).</summary>
    public string ClientAuthority(int port)
    {
        var host = Host switch
        {
            "0.0.0.0" => "127.0.0.1",
            "::" => "[::1]",
            _ when Host.Contains(':') => $"[{Host}]",
            _ => Host,
        };
        return string.Create(CultureInfo.InvariantCulture, $"{host}:{port}");
    }

    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
