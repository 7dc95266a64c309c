using System.Collections.Concurrent;
using System.Reflection;
using Orchestrator.Domain;

namespace Orchestrator.Engine.Persistence;

/// <summary>
/// The two-way map between <see cref="WireNameAttribute"/> names and types, found by scanning every loaded assembly
/// (so another project's events, such as the registry's, are found without being listed here). A name looked up
/// before its assembly was loaded triggers a new scan.
/// </summary>
public static class WireNames
{
    private static readonly ConcurrentDictionary<Type, string> Names = new();
    private static readonly object ScanGate = new();
    private static volatile IReadOnlyDictionary<string, Type> _types = new Dictionary<string, Type>();
    private static int _scannedAssemblies = -1;

    /// <summary>The stable name of <paramref name="type"/>; a wire message without one is a programming error, named clearly.</summary>
    public static string NameOf(Type type) => Names.GetOrAdd(type, t =>
        t.GetCustomAttribute<WireNameAttribute>(inherit: false)?.Name
        ?? throw new InvalidOperationException(
            $"{t.FullName} is an {nameof(IWireMessage)} without a [WireName(\"...\")]: give it a stable name before it is persisted or sent"));

    /// <summary>The type named <paramref name="name"/>; null when no loaded assembly declares it.</summary>
    public static Type? TypeOf(string name)
    {
        if (_types.TryGetValue(name, out var type))
        {
            return type;
        }

        Scan();
        return _types.GetValueOrDefault(name);
    }

    private static void Scan()
    {
        lock (ScanGate)
        {
            var assemblies = AppDomain.CurrentDomain.GetAssemblies();
            if (assemblies.Length == _scannedAssemblies)
            {
                return;
            }

            var map = new Dictionary<string, Type>(StringComparer.Ordinal);
            foreach (var type in assemblies.Where(CanDeclareWireNames).SelectMany(LoadableTypes))
            {
                if (type.GetCustomAttribute<WireNameAttribute>(inherit: false) is not { } attribute)
                {
                    continue;
                }

                if (map.TryGetValue(attribute.Name, out var other) && other != type)
                {
                    throw new InvalidOperationException($"wire name '{attribute.Name}' is given to both {other.FullName} and {type.FullName}");
                }

                map[attribute.Name] = type;
            }

            _types = map;
            _scannedAssemblies = assemblies.Length;
        }
    }

    /// <summary>Only the attribute's own assembly and those that reference it can use it: the framework's are skipped.</summary>
    private static bool CanDeclareWireNames(Assembly assembly)
    {
        var declaring = typeof(WireNameAttribute).Assembly;
        return !assembly.IsDynamic
            && (assembly == declaring || assembly.GetReferencedAssemblies().Any(r => r.Name == declaring.GetName().Name));
    }

    private static IEnumerable<Type> LoadableTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            return e.Types.OfType<Type>();
        }
    }
}
