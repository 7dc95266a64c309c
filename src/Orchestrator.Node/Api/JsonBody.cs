using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Orchestrator.Domain;

namespace Orchestrator.Node.Api;

/// <summary>
/// Reads a request body strictly: anything but one JSON object, a value of the wrong type, a field given twice (under
/// one name or under its camelCase and QMP spellings) and an unknown field all become a 400 that names the field,
/// instead of minimal APIs' empty 400 (a typo such as "job_id" must not be silently ignored). Fields may be spelled
/// the QMP way (<see cref="RequestFields"/>).
/// </summary>
public static class JsonBody
{
    /// <summary>Request bodies are flat objects; a deeper nesting can only be an attack or a mistake.</summary>
    private const int MaxDepth = 16;

    private static readonly JsonSerializerOptions _options = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowTrailingCommas = false,
        NumberHandling = JsonNumberHandling.Strict,
        MaxDepth = MaxDepth,
    };

    private static readonly JsonDocumentOptions _documentOptions = new()
    {
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = MaxDepth,
    };

    public static async Task<T> ReadAsync<T>(HttpRequest request, CancellationToken cancel)
        where T : class
    {
        // The content type is not checked: the body must parse as JSON whatever the client labelled it (curl -d says form data).
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, _documentOptions, cancel);
        }
        catch (JsonException e)
        {
            throw ApiException.InvalidParameter(
                e.Message.Contains("does not contain any JSON tokens", StringComparison.Ordinal) || e.BytePositionInLine is 0 && e.LineNumber is 0
                    ? "the request body is empty or not JSON: expected a JSON object"
                    : e.Message.Contains("maximum configured depth", StringComparison.Ordinal)
                        ? $"the request body nests deeper than {MaxDepth} levels: expected a flat JSON object"
                        : $"the request body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): expected one JSON object");
        }

        using (document)
        {
            var (normalized, givenAs) = Normalize<T>(document.RootElement);
            try
            {
                return JsonSerializer.Deserialize<T>(normalized, _options) ?? throw ApiException.InvalidParameter("the request body must be a JSON object");
            }
            catch (JsonException e)
            {
                throw ApiException.InvalidParameter(DescribeValueError<T>(e.Path, givenAs));
            }
        }
    }

    /// <summary>
    /// The body with every field under its camelCase name, and the name the client used for each (for messages).
    /// Refuses a body that is not an object, unknown fields (all of them named at once) and fields given twice.
    /// </summary>
    private static (byte[] Json, Dictionary<string, string> GivenAs) Normalize<T>(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.InvalidParameter($"the request body must be a JSON object, not {KindName(root.ValueKind)}");
        }

        var fields = RequestFields.Of(typeof(T));
        var givenAs = new Dictionary<string, string>(StringComparer.Ordinal);
        var unknown = new List<string>();
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var property in root.EnumerateObject())
            {
                var name = NameOf(property);
                if (!fields.TryCanonical(name, out var canonical))
                {
                    unknown.Add(IdRule.Printable(name));
                    continue;
                }

                if (givenAs.TryGetValue(canonical, out var earlier))
                {
                    throw ApiException.InvalidParameter(string.Equals(earlier, name, StringComparison.Ordinal)
                        ? $"field '{IdRule.Printable(name)}' is given twice"
                        : $"field '{canonical}' is given twice, as '{IdRule.Printable(earlier)}' and as '{IdRule.Printable(name)}': give one of the two spellings");
                }

                givenAs[canonical] = name;
                writer.WritePropertyName(canonical);
                try
                {
                    property.Value.WriteTo(writer);
                }
                catch (InvalidOperationException)
                {
                    // System.Text.Json refuses a string escape that is half a UTF-16 surrogate pair this way.
                    throw ApiException.InvalidParameter($"invalid value for field '{IdRule.Printable(name)}': not valid Unicode (half a surrogate pair)");
                }
            }

            writer.WriteEndObject();
        }

        if (unknown.Count > 0)
        {
            var list = string.Join("', '", unknown);
            throw ApiException.InvalidParameter($"unknown field{(unknown.Count > 1 ? "s" : "")} '{list}' (known fields: {fields.Describe()})");
        }

        return (buffer.ToArray(), givenAs);
    }

    private static string NameOf(JsonProperty property)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException)
        {
            throw ApiException.InvalidParameter("a field name of the request body is not valid Unicode");
        }
    }

    private static string DescribeValueError<T>(string? path, Dictionary<string, string> givenAs)
    {
        var field = FieldOf(path);
        if (field is null)
        {
            return "the request body is not a valid JSON object";
        }

        var shown = IdRule.Printable(givenAs.GetValueOrDefault(field, field));
        var property = typeof(T).GetProperties().FirstOrDefault(p => string.Equals(JsonNamingPolicy.CamelCase.ConvertName(p.Name), field, StringComparison.Ordinal));
        return property is null
            ? $"invalid value for field '{shown}'"
            : $"invalid value for field '{shown}': expected {Expected(property)}";
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
            : type == typeof(long) ? $"an integer between {long.MinValue} and {long.MaxValue}"
            : type == typeof(int) ? "an integer"
            : type.Name;
    }

    private static string KindName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "true or false",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };
}
