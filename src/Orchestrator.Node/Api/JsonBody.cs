using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace Orchestrator.Node.Api;

/// <summary>
/// Reads a request body strictly: malformed JSON, a value of the wrong type and an unknown field all become a 400
/// that names the field, instead of minimal APIs' empty 400 (a typo such as "jobid" must not be silently ignored).
/// </summary>
public static partial class JsonBody
{
    private static readonly JsonSerializerOptions _options = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowTrailingCommas = false,
        NumberHandling = JsonNumberHandling.Strict,
    };

    public static async Task<T> ReadAsync<T>(HttpRequest request, CancellationToken cancel)
        where T : class
    {
        // The content type is not checked: the body must parse as JSON whatever the client labelled it (curl -d says form data).
        T? value;
        try
        {
            value = await JsonSerializer.DeserializeAsync<T>(request.Body, _options, cancel);
        }
        catch (JsonException e)
        {
            throw ApiException.InvalidParameter(Describe<T>(e));
        }

        return value ?? throw ApiException.InvalidParameter("the request body must be a JSON object");
    }

    private static string Describe<T>(JsonException e)
    {
        if (UnmappedProperty().Match(e.Message) is { Success: true } unmapped)
        {
            var known = string.Join(", ", typeof(T).GetProperties().Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name)));
            return $"unknown field '{unmapped.Groups[1].Value}' (known fields: {known})";
        }

        var field = FieldOf(e.Path);
        if (field is null)
        {
            return e.Message.Contains("does not contain any JSON tokens", StringComparison.Ordinal)
                ? "the request body is empty or not JSON: expected a JSON object"
                : $"the request body is not a valid JSON object (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})";
        }

        var property = typeof(T).GetProperties().FirstOrDefault(p => string.Equals(JsonNamingPolicy.CamelCase.ConvertName(p.Name), field, StringComparison.OrdinalIgnoreCase));
        return property is null
            ? $"invalid value for field '{field}'"
            : $"invalid value for field '{field}': expected {Expected(property)}";
    }

    /// <summary>"$.speed" -> "speed"; null for the body itself.</summary>
    private static string? FieldOf(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return null;
        }

        var trimmed = path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
        var end = trimmed.IndexOfAny(['.', '[']);
        return end > 0 ? trimmed[..end] : trimmed;
    }

    private static string Expected(PropertyInfo property)
    {
        var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        return type == typeof(string) ? "a string"
            : type == typeof(bool) ? "true or false"
            : type == typeof(long) || type == typeof(int) ? "an integer"
            : type.Name;
    }

    [GeneratedRegex("The JSON property '([^']*)' could not be mapped")]
    private static partial Regex UnmappedProperty();
}
