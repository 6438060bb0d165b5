using System.Text.Json;

namespace DeepSeek.Search.Core;

/// <summary>JSON value kinds as error messages name them ("got a number").</summary>
public static class JsonKind
{
    public static string Describe(JsonValueKind k) => k switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}
