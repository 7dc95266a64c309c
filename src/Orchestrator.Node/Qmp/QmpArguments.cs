using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Node.Qmp;

/// <summary>A command's "arguments" object, read with QEMU's checks and wording: unknown and missing parameters, wrong types.</summary>
public sealed class QmpArguments
{
    private readonly JsonObject _values;

    public QmpArguments(JsonObject? values, IReadOnlyCollection<string> allowed)
    {
        _values = values ?? [];
        foreach (var (name, _) in _values)
        {
            if (!allowed.Contains(name))
            {
                throw QmpError.GenericError($"Parameter '{name}' is unexpected");
            }
        }
    }

    public string String(string name) => OptionalString(name) ?? throw QmpError.GenericError($"Parameter '{name}' is missing");

    public string? OptionalString(string name)
    {
        if (!_values.TryGetPropertyValue(name, out var node) || node is null)
        {
            return null;
        }

        return node.GetValueKind() == JsonValueKind.String
            ? node.GetValue<string>()
            : throw QmpError.GenericError($"Invalid parameter type for '{name}', expected: string");
    }

    public long? OptionalInteger(string name)
    {
        if (!_values.TryGetPropertyValue(name, out var node) || node is null)
        {
            return null;
        }

        return node.GetValueKind() == JsonValueKind.Number && node.AsValue().TryGetValue<long>(out var value)
            ? value
            : throw QmpError.GenericError($"Invalid parameter type for '{name}', expected: integer");
    }

    public bool? OptionalBool(string name)
    {
        if (!_values.TryGetPropertyValue(name, out var node) || node is null)
        {
            return null;
        }

        return node.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw QmpError.GenericError($"Invalid parameter type for '{name}', expected: boolean"),
        };
    }
}
