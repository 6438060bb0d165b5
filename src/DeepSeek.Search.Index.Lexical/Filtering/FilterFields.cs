using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;
using Lucene.Net.Documents;
using LuceneDocument = Lucene.Net.Documents.Document;

namespace DeepSeek.Search.Index.Lexical.Filtering;

/// <summary>
/// The indexed, not stored, unscored Lucene fields that <see cref="FilterQuery"/> filters on: a document's ACL and its
/// metadata. Every name starts with <c>_</c>, so none collides with the index's own fields (<c>id</c>, <c>contents</c>,
/// <c>title</c>, <c>body</c>), and none is analysed: keys and values are indexed verbatim, as exact terms, so text that looks
/// like filter or Lucene query syntax is only ever compared byte for byte.
/// <list type="bullet">
/// <item>ACL: <c>_acl_open</c> = <c>1</c> for a document without an ACL; otherwise one <c>_acl_p</c> term per principal and
/// one <c>_acl_g</c> term per group (separate fields: a group named like a principal grants nothing to that principal). An
/// ACL with both lists empty adds nothing, so no caller matches it.</item>
/// <item>Metadata, per key path (see <see cref="FieldName"/>; nested objects flattened, arrays multi-valued, null ignored):
/// <c>_mx:PATH</c> = <c>1</c> where the key is present and not null; <c>_ms:PATH</c> a string as one exact term (or, past
/// <see cref="MaxStringTermBytes"/> UTF-8 bytes, <c>_mh:PATH</c> its SHA-256 in hex); <c>_mb:PATH</c> <c>true</c>/<c>false</c>;
/// <c>_mn:PATH</c> a number as a <see cref="DoubleField"/> (negative zero as zero; numbers beyond double's range are not
/// indexed as numbers); <c>_md:PATH</c> a string in the <see cref="FilterDates"/> format, also as the <see cref="Int64Field"/>
/// of its UTC ticks.</item>
/// </list>
/// Each distinct key path is its own Lucene field (one per value type it holds), so metadata whose keys are data (ids as
/// keys) grows the index's field table with the corpus; keep such values in arrays instead.
/// These fields carry no norms and no term frequencies and are never searched by a text query, so adding them leaves BM25
/// scores of <c>contents</c> / <c>title</c> / <c>body</c> unchanged.
/// </summary>
public static class FilterFields
{
    /// <summary>Term <see cref="OpenValue"/> on a document without an ACL (readable by every caller).</summary>
    public const string AclOpen = "_acl_open";

    /// <summary>The value of <see cref="AclOpen"/>.</summary>
    public const string OpenValue = "1";

    /// <summary>One term per principal of the document's ACL.</summary>
    public const string AclPrincipal = "_acl_p";

    /// <summary>One term per group of the document's ACL.</summary>
    public const string AclGroup = "_acl_g";

    /// <summary>Prefix of the field marking a key as present and not null (term <see cref="PresentValue"/>).</summary>
    public const string ExistsPrefix = "_mx:";

    /// <summary>The value of the <see cref="ExistsPrefix"/> fields.</summary>
    public const string PresentValue = "1";

    /// <summary>Prefix of the exact string fields.</summary>
    public const string StringPrefix = "_ms:";

    /// <summary>Prefix of the fields holding the SHA-256 (lower-case hex) of strings longer than <see cref="MaxStringTermBytes"/>.</summary>
    public const string HashPrefix = "_mh:";

    /// <summary>Prefix of the boolean fields (terms <c>true</c>, <c>false</c>).</summary>
    public const string BoolPrefix = "_mb:";

    /// <summary>Prefix of the numeric (double) fields.</summary>
    public const string NumberPrefix = "_mn:";

    /// <summary>Prefix of the date fields (UTC ticks as 64-bit integers).</summary>
    public const string DatePrefix = "_md:";

    /// <summary>Strings up to this many UTF-8 bytes are indexed as themselves; longer ones by their hash.</summary>
    public const int MaxStringTermBytes = 512;

    /// <summary>Whether <paramref name="fieldName"/> is one of these fields (they all start with <c>_</c>).</summary>
    public static bool IsFilterField(string fieldName) => fieldName is not null && fieldName.StartsWith('_');

    /// <summary>
    /// The Lucene field name of a key path: <paramref name="prefix"/> + the keys joined by <c>.</c>, each with <c>\</c> written
    /// <c>\\</c> and <c>.</c> written <c>\.</c> (so <c>{"a.b": …}</c> and <c>{"a": {"b": …}}</c> never share a field).
    /// </summary>
    public static string FieldName(string prefix, IReadOnlyList<string> path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var sb = new StringBuilder(prefix);
        for (int i = 0; i < path.Count; i++)
        {
            if (i > 0) sb.Append('.');
            AppendKey(sb, path[i]);
        }
        return sb.ToString();
    }

    /// <summary>The term a metadata string is indexed as: itself, or past <see cref="MaxStringTermBytes"/> its hash (field <see cref="HashPrefix"/>).</summary>
    public static (string Prefix, string Term) StringTerm(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (Encoding.UTF8.GetByteCount(value) <= MaxStringTermBytes) return (StringPrefix, value);
        return (HashPrefix, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value))));
    }

    /// <summary>A number as indexed: negative zero is zero.</summary>
    public static double NumberTerm(double value) => value == 0 ? 0d : value;

    /// <summary>
    /// Adds the filter fields of <paramref name="doc"/> (its ACL and metadata) to <paramref name="target"/>. Throws
    /// <see cref="InvalidInputException"/> when the metadata is not a JSON object or an ACL name is empty or longer than
    /// <see cref="Acl.MaxNameLength"/>.
    /// </summary>
    public static void AddTo(LuceneDocument target, Core.Document doc)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(doc);
        var fields = new List<Field>();
        if (doc.Acl is null) fields.Add(new StringField(AclOpen, OpenValue, Field.Store.NO));
        else
        {
            AddNames(fields, AclPrincipal, doc.Acl.Principals, doc.Id, "principal");
            AddNames(fields, AclGroup, doc.Acl.Groups, doc.Id, "group");
        }
        if (doc.MetadataJson is not null)
        {
            JsonDocument json;
            try { json = MetadataJson.Parse(doc.MetadataJson); }
            catch (InvalidInputException ex) { throw new InvalidInputException($"document '{doc.Id}': {ex.Message}", ex); }
            using (json) new MetadataWalk(fields).Walk(json.RootElement, []);
        }
        foreach (var f in fields) target.Add(f);
    }

    static void AddNames(List<Field> fields, string field, IReadOnlyList<string> names, string id, string what)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in names)
        {
            if (string.IsNullOrEmpty(n)) throw new InvalidInputException($"document '{id}' has an empty ACL {what} name");
            if (n.Length > Acl.MaxNameLength)
                throw new InvalidInputException($"document '{id}' has an ACL {what} name longer than {Acl.MaxNameLength} characters");
            if (seen.Add(n)) fields.Add(new StringField(field, n, Field.Store.NO));
        }
    }

    static void AppendKey(StringBuilder sb, string key)
    {
        foreach (char c in key)
        {
            if (c is '\\' or '.') sb.Append('\\');
            sb.Append(c);
        }
    }

    /// <summary>Flattens one metadata object into fields, each (field, value) once.</summary>
    sealed class MetadataWalk(List<Field> fields)
    {
        readonly HashSet<(string, string)> _terms = [];
        readonly HashSet<(string, double)> _numbers = [];
        readonly HashSet<(string, long)> _dates = [];

        public void Walk(JsonElement node, List<string> path)
        {
            switch (node.ValueKind)
            {
                case JsonValueKind.Object:
                    MarkPresent(path);
                    foreach (var p in node.EnumerateObject())
                    {
                        path.Add(p.Name);
                        Walk(p.Value, path);
                        path.RemoveAt(path.Count - 1);
                    }
                    break;
                case JsonValueKind.Array:
                    MarkPresent(path);
                    foreach (var e in node.EnumerateArray()) Walk(e, path);
                    break;
                case JsonValueKind.String:
                    MarkPresent(path);
                    string s = node.GetString()!;
                    var (prefix, term) = StringTerm(s);
                    Term(FieldName(prefix, path), term);
                    if (FilterDates.TryParse(s, out var instant))
                    {
                        string field = FieldName(DatePrefix, path);
                        if (_dates.Add((field, instant.UtcTicks))) fields.Add(new Int64Field(field, instant.UtcTicks, Field.Store.NO));
                    }
                    break;
                case JsonValueKind.Number:
                    MarkPresent(path);
                    if (node.TryGetDouble(out double d) && double.IsFinite(d))
                    {
                        string field = FieldName(NumberPrefix, path);
                        d = NumberTerm(d);
                        if (_numbers.Add((field, d))) fields.Add(new DoubleField(field, d, Field.Store.NO));
                    }
                    break;
                case JsonValueKind.True or JsonValueKind.False:
                    MarkPresent(path);
                    Term(FieldName(BoolPrefix, path), node.ValueKind == JsonValueKind.True ? "true" : "false");
                    break;
                default:
                    break;
            }
        }

        void MarkPresent(List<string> path)
        {
            if (path.Count > 0) Term(FieldName(ExistsPrefix, path), PresentValue);
        }

        void Term(string field, string value)
        {
            if (_terms.Add((field, value))) fields.Add(new StringField(field, value, Field.Store.NO));
        }
    }
}
