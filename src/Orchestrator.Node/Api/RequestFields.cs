using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace Orchestrator.Node.Api;

/// <summary>
/// The names a request body may give each field of <c>T</c>: its camelCase name (matched without regard to case, as
/// before) and QMP's spelling of it (<c>jobId</c> is also <c>job-id</c>, <c>backingFile</c> <c>backing-file</c>), plus
/// QMP's node-name forms of <c>base</c> and <c>top</c> (<c>base-node</c>, <c>top-node</c>), so that a body written for
/// qemu-storage-daemon reads the same here.
/// </summary>
public sealed class RequestFields
{
    private static readonly ConcurrentDictionary<Type, RequestFields> _byType = new();

    /// <summary>QMP names that are not the plain kebab-case of a field's name: what QEMU calls a node, we name by image.</summary>
    private static readonly Dictionary<string, string[]> _extraAliases = new(StringComparer.Ordinal)
    {
        ["base"] = ["base-node"],
        ["top"] = ["top-node"],
    };

    private readonly Dictionary<string, string> _canonicalOf;

    private RequestFields(Type type)
    {
        Canonical = [.. type.GetProperties().Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name))];
        _canonicalOf = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in Canonical)
        {
            _canonicalOf[name] = name;
            _canonicalOf[Kebab(name)] = name;
            foreach (var alias in _extraAliases.GetValueOrDefault(name, []))
            {
                _canonicalOf[alias] = name;
            }
        }
    }

    /// <summary>The fields' camelCase names, in declaration order.</summary>
    public IReadOnlyList<string> Canonical { get; }

    public static RequestFields Of(Type type) => _byType.GetOrAdd(type, t => new RequestFields(t));

    /// <summary>The camelCase name <paramref name="given"/> stands for; false for a field the body type does not have.</summary>
    public bool TryCanonical(string given, out string canonical) => _canonicalOf.TryGetValue(given, out canonical!);

    /// <summary>Every accepted spelling, for error messages: "jobId (job-id)".</summary>
    public string Describe()
    {
        var names = Canonical.Select(name =>
        {
            var aliases = _canonicalOf.Where(kv => kv.Value == name && !string.Equals(kv.Key, name, StringComparison.OrdinalIgnoreCase)).Select(kv => kv.Key).ToList();
            return aliases.Count == 0 ? name : $"{name} ({string.Join(", ", aliases)})";
        });
        return string.Join(", ", names);
    }

    /// <summary>"backingFile" -> "backing-file": QMP's spelling of a camelCase name.</summary>
    public static string Kebab(string camel)
    {
        var text = new StringBuilder(camel.Length + 4);
        foreach (var c in camel)
        {
            if (char.IsAsciiLetterUpper(c))
            {
                text.Append('-').Append(char.ToLowerInvariant(c));
            }
            else
            {
                text.Append(c);
            }
        }

        return text.ToString();
    }
}
