using System.CommandLine;
using DeepSeek.Search.Core;
using DeepSeek.Search.Service;
using DeepSeek.Search.Service.Auth;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>`dss keys add | list | revoke`: the API keys of `dss serve`. A new key is printed once; the file keeps a salted hash.</summary>
static class KeysCommand
{
    static Option<string?> KeysFile() => new("--keys") { Description = "The keys file [default: $DSS_HOME/keys.json, else ~/.config/dss/keys.json]" };

    static string PathOf(ParseResult pr, Option<string?> keys) => pr.GetValue(keys) is { Length: > 0 } k ? k : ServiceSettings.DefaultKeysFile();

    public static Command Create() => new("keys", "Manage the API keys of dss serve.") { Add(), List(), Revoke() };

    static Command Add()
    {
        var principal = new Option<string>("--principal") { Description = "Who the key searches as (document ACLs name principals)", Required = true };
        var groups = new Option<string[]>("--group") { Description = "A group of the principal (repeat for several)" };
        var right = new Option<string>("--right") { Description = "read (search, get), write (also upsert, delete) or admin (also create, drop collections); never past document ACLs", Required = true }
            .AcceptOnlyFromAmong("read", "write", "admin");
        var collections = new Option<string[]>("--collection", "-c") { Description = "A collection the right applies to (repeat for several; * for all) [default: *]" };
        var keys = KeysFile();
        var cmd = new Command("add", "Make a new API key and print it (once: only its salted hash is stored).") { principal, groups, right, collections, keys };
        cmd.SetAction(pr =>
        {
            var level = pr.GetValue(right) switch
            {
                "read" => AccessRight.Read,
                "write" => AccessRight.Write,
                "admin" => AccessRight.Admin,
                var other => throw new InvalidInputException($"unknown --right '{other}' (read, write, admin)"),
            };
            var file = ApiKeyFile.Load(PathOf(pr, keys));
            var (entry, key) = file.Add(pr.GetValue(principal)!, pr.GetValue(groups) ?? [], level, pr.GetValue(collections) ?? []);
            Console.Error.WriteLine($"dss: added key {entry.Id} for principal '{entry.Principal}' ({Rights(entry)}) to {file.Path}; it is shown only now:");
            Console.WriteLine(key);
            return CliRunner.ExitOk;
        });
        return cmd;
    }

    static Command List()
    {
        var keys = KeysFile();
        var cmd = new Command("list", "List the keys: id, principal, groups, rights, creation time (never the keys themselves).") { keys };
        cmd.SetAction(pr =>
        {
            var file = ApiKeyFile.Load(PathOf(pr, keys));
            if (file.Keys.Count == 0) Console.Error.WriteLine($"dss: no keys in {file.Path}");
            foreach (var k in file.Keys)
                Console.WriteLine($"{k.Id}  principal {k.Principal}  groups [{string.Join(", ", k.Groups)}]  {Rights(k)}  created {k.CreatedUtc:yyyy-MM-dd HH:mm:ss}Z");
            return CliRunner.ExitOk;
        });
        return cmd;
    }

    static Command Revoke()
    {
        var id = new Argument<string>("id") { Description = "The key id (dss keys list)" };
        var keys = KeysFile();
        var cmd = new Command("revoke", "Remove a key; a running server refuses it from its next call.") { id, keys };
        cmd.SetAction(pr =>
        {
            var file = ApiKeyFile.Load(PathOf(pr, keys));
            file.Revoke(pr.GetValue(id)!);
            Console.WriteLine($"revoked {pr.GetValue(id)} in {file.Path}");
            return CliRunner.ExitOk;
        });
        return cmd;
    }

    static string Rights(ApiKeyEntry k) => string.Join(", ", k.Rights.Select(r => $"{r.Value.ToString().ToLowerInvariant()} on {r.Key}"));
}
