import Foundation

/// Reading a Hugging Face tokenizer directory: `tokenizer.json` (the `tokenizers` format) or
/// `vocab.json` + `merges.txt`, plus the transformers configs `tokenizer_config.json`,
/// `special_tokens_map.json` and `added_tokens.json`, combined the way transformers does.
enum TokenizerFiles {
    /// Special-token roles transformers knows, in its order; all become special added tokens.
    static let roles = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]

    /// An added token as the configs spell it, before it has an id.
    struct TokenSpec {
        var content: String
        var singleWord = false
        var lstrip = false
        var rstrip = false
        var normalized: Bool?
        var special = true
    }

    /// What the transformers-side configs say.
    struct Config {
        /// Role ("bos_token", ...) -> token.
        var roleTokens: [String: TokenSpec] = [:]
        var additionalSpecial: [TokenSpec] = []
        /// `added_tokens_decoder` of tokenizer_config.json, or added_tokens.json, with ids.
        var addedTokens: [(Int, TokenSpec)] = []
        var addBOS: Bool?
        var addEOS: Bool?
        var addPrefixSpace: Bool?
    }

    // MARK: - Files

    static func exists(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    static func readData(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: String(describing: error))
        }
    }

    static func readJSON(_ url: URL) throws -> Any {
        let data = try readData(url)
        do {
            return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw TokenizerError.malformedJSON(path: url.path, reason: jsonErrorReason(error))
        }
    }

    static func readJSONObject(_ url: URL) throws -> [String: Any] {
        guard let object = try readJSON(url) as? [String: Any] else {
            throw TokenizerError.malformedJSON(path: url.path, reason: "the top level is not an object")
        }
        return object
    }

    private static func jsonErrorReason(_ error: Error) -> String {
        let nsError = error as NSError
        if let detail = nsError.userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
        return nsError.localizedDescription
    }

    // MARK: - JSON helpers

    /// An integer stored as a JSON number; rejects strings and fractions. (Foundation on Linux
    /// hands back every JSON number, booleans included, as NSNumber, so `true` reads as 1.)
    static func integer(_ value: Any?) -> Int? {
        if let int = value as? Int { return int }
        guard let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 9.0e15 else { return nil }
        return Int(double)
    }

    static func boolean(_ value: Any?) -> Bool? {
        if let bool = value as? Bool { return bool }
        if let int = integer(value), int == 0 || int == 1 { return int == 1 }
        return nil
    }

    /// A special token written either as a string or as an `AddedToken` object.
    static func tokenSpec(_ value: Any?, special: Bool = true) -> TokenSpec? {
        if let string = value as? String { return TokenSpec(content: string, special: special) }
        guard let object = value as? [String: Any], let content = object["content"] as? String else { return nil }
        return TokenSpec(content: content,
                         singleWord: boolean(object["single_word"]) ?? false,
                         lstrip: boolean(object["lstrip"]) ?? false,
                         rstrip: boolean(object["rstrip"]) ?? false,
                         normalized: boolean(object["normalized"]),
                         special: boolean(object["special"]) ?? special)
    }

    /// `{"token": id, ...}`.
    static func vocabulary(_ value: Any?, path: String, field: String) throws -> [String: Int] {
        guard let object = value as? [String: Any] else {
            throw TokenizerError.malformedJSON(path: path, reason: "\(field) is not an object of token -> id")
        }
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(object.count)
        for (token, rawID) in object {
            guard let id = integer(rawID) else {
                throw TokenizerError.malformedJSON(path: path, reason: "\(field)[\(token.debugDescription)] is not an integer id")
            }
            guard id >= 0 else {
                throw TokenizerError.invalidVocabulary(path: path, reason: "token \(token.debugDescription) has negative id \(id)")
            }
            vocab[token] = id
        }
        if vocab.isEmpty { throw TokenizerError.invalidVocabulary(path: path, reason: "\(field) is empty") }
        return vocab
    }

    // MARK: - merges

    /// merges.txt as `tokenizers` reads it: `#version` lines are skipped, every other line must
    /// be exactly two tokens separated by one space (ranks count only those lines).
    static func readMerges(_ url: URL) throws -> [(String, String)] {
        let data = try readData(url)
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.unreadableFile(path: url.path, reason: "not UTF-8 text")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        // A final newline ends the last line rather than starting an empty one.
        if lines.last?.isEmpty == true { lines.removeLast() }
        var merges: [(String, String)] = []
        merges.reserveCapacity(lines.count)
        for (index, rawLine) in lines.enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.hasPrefix("#version") { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError.badMergesLine(path: url.path, line: index + 1, text: String(line))
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        return merges
    }

    /// `model.merges` of tokenizer.json: "a b" strings (older files) or ["a", "b"] pairs (newer).
    static func merges(_ value: Any?, path: String) throws -> [(String, String)] {
        guard let array = value as? [Any] else {
            throw TokenizerError.malformedJSON(path: path, reason: "model.merges is not an array")
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(array.count)
        for (index, entry) in array.enumerated() {
            if let string = entry as? String {
                let parts = string.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw TokenizerError.badMergesLine(path: path, line: index + 1, text: string)
                }
                merges.append((String(parts[0]), String(parts[1])))
            } else if let pair = entry as? [Any], pair.count == 2, let left = pair[0] as? String, let right = pair[1] as? String {
                merges.append((left, right))
            } else {
                throw TokenizerError.badMergesLine(path: path, line: index + 1, text: String(describing: entry))
            }
        }
        return merges
    }

    // MARK: - transformers configs

    /// tokenizer_config.json, then (as transformers does only when the former has no
    /// `added_tokens_decoder`) special_tokens_map.json overriding it and added_tokens.json.
    static func readConfig(directory: URL) throws -> Config {
        var config = Config()
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        var tokenizerConfig: [String: Any] = [:]
        if exists(configURL) { tokenizerConfig = try readJSONObject(configURL) }
        for role in roles {
            if let spec = tokenSpec(tokenizerConfig[role]) { config.roleTokens[role] = spec }
        }
        config.additionalSpecial = specList(tokenizerConfig["additional_special_tokens"]) + specList(tokenizerConfig["extra_special_tokens"])
        config.addBOS = boolean(tokenizerConfig["add_bos_token"])
        config.addEOS = boolean(tokenizerConfig["add_eos_token"])
        config.addPrefixSpace = boolean(tokenizerConfig["add_prefix_space"])

        if let decoder = tokenizerConfig["added_tokens_decoder"] {
            guard let object = decoder as? [String: Any] else {
                throw TokenizerError.malformedJSON(path: configURL.path, reason: "added_tokens_decoder is not an object")
            }
            for (key, value) in object {
                guard let id = Int(key), let spec = tokenSpec(value, special: false) else {
                    throw TokenizerError.malformedJSON(path: configURL.path, reason: "added_tokens_decoder[\(key.debugDescription)] is not an id -> token entry")
                }
                config.addedTokens.append((id, spec))
            }
            config.addedTokens.sort { $0.0 < $1.0 }
            return config
        }

        let mapURL = directory.appendingPathComponent("special_tokens_map.json")
        if exists(mapURL) {
            let map = try readJSONObject(mapURL)
            for role in roles {
                if let spec = tokenSpec(map[role]) { config.roleTokens[role] = spec }
            }
            let extra = specList(map["additional_special_tokens"]) + specList(map["extra_special_tokens"])
            if !extra.isEmpty { config.additionalSpecial = extra }
        }
        let legacyURL = directory.appendingPathComponent("added_tokens.json")
        if exists(legacyURL) {
            let legacy = try vocabulary(try readJSON(legacyURL), path: legacyURL.path, field: "added_tokens.json")
            let specialContents = Set(config.roleTokens.values.map(\.content) + config.additionalSpecial.map(\.content))
            for (content, id) in legacy.sorted(by: { $0.value < $1.value }) {
                let special = specialContents.contains(content)
                config.addedTokens.append((id, TokenSpec(content: content, normalized: !special, special: special)))
            }
        }
        return config
    }

    private static func specList(_ value: Any?) -> [TokenSpec] {
        guard let array = value as? [Any] else { return [] }
        return array.compactMap { tokenSpec($0) }
    }

    // MARK: - tokenizer.json stages

    /// The ByteLevel pre-tokenizer's options, or an error for any other pre-tokenizer.
    static func preTokenizer(_ value: Any?, path: String) throws -> (addPrefixSpace: Bool, useRegex: Bool) {
        guard let object = value as? [String: Any] else {
            throw TokenizerError.unsupportedComponent(path: path, component: "pre_tokenizer", detail: "none is set; byte-level BPE needs ByteLevel")
        }
        let type = object["type"] as? String ?? "?"
        switch type {
        case "ByteLevel":
            return (boolean(object["add_prefix_space"]) ?? false, boolean(object["use_regex"]) ?? true)
        case "Sequence":
            // A sequence holding only ByteLevel is the same thing.
            if let inner = object["pretokenizers"] as? [Any], inner.count == 1 {
                return try preTokenizer(inner[0], path: path)
            }
            throw TokenizerError.unsupportedComponent(path: path, component: "pre_tokenizer", detail: "a Sequence other than [ByteLevel]")
        default:
            throw TokenizerError.unsupportedComponent(path: path, component: "pre_tokenizer", detail: "type \(type.debugDescription); only ByteLevel is implemented")
        }
    }

    /// The ids a post-processor puts before and after a single sequence.
    static func postProcessor(_ value: Any?, vocab: (String) -> Int?, path: String) throws -> (prefix: [Int], suffix: [Int]) {
        guard let object = value as? [String: Any] else { return ([], []) }
        let type = object["type"] as? String ?? "?"
        switch type {
        case "ByteLevel":
            return ([], [])
        case "TemplateProcessing":
            guard let single = object["single"] as? [Any] else {
                throw TokenizerError.malformedJSON(path: path, reason: "post_processor.single is not an array")
            }
            let specials = object["special_tokens"] as? [String: Any] ?? [:]
            var prefix: [Int] = []
            var suffix: [Int] = []
            var seenSequence = false
            for piece in single {
                guard let piece = piece as? [String: Any] else { continue }
                if piece["Sequence"] != nil {
                    seenSequence = true
                } else if let special = piece["SpecialToken"] as? [String: Any], let name = special["id"] as? String {
                    let ids: [Int]
                    if let entry = specials[name] as? [String: Any], let listed = entry["ids"] as? [Any] {
                        ids = listed.compactMap(integer)
                    } else if let id = vocab(name) {
                        ids = [id]
                    } else {
                        throw TokenizerError.unknownToken(path: path, token: name, role: "post_processor special token")
                    }
                    if seenSequence { suffix += ids } else { prefix += ids }
                }
            }
            return (prefix, suffix)
        case "RobertaProcessing", "BertProcessing":
            func id(_ key: String) throws -> Int {
                guard let pair = object[key] as? [Any], pair.count == 2, let id = integer(pair[1]) else {
                    throw TokenizerError.malformedJSON(path: path, reason: "post_processor.\(key) is not a [token, id] pair")
                }
                return id
            }
            return ([try id("cls")], [try id("sep")])
        case "Sequence":
            var prefix: [Int] = []
            var suffix: [Int] = []
            for inner in object["processors"] as? [Any] ?? [] {
                // Each processor wraps what the previous ones produced.
                let (innerPrefix, innerSuffix) = try postProcessor(inner, vocab: vocab, path: path)
                prefix = innerPrefix + prefix
                suffix += innerSuffix
            }
            return (prefix, suffix)
        default:
            throw TokenizerError.unsupportedComponent(path: path, component: "post_processor", detail: "type \(type.debugDescription)")
        }
    }
}
