import Foundation

extension BPETokenizer {
    /// Loads the tokenizer of a Hugging Face checkpoint directory.
    ///
    /// Reads `tokenizer.json` when present, else `vocab.json` + `merges.txt`; either way also
    /// `tokenizer_config.json` / `special_tokens_map.json` / `added_tokens.json` when present
    /// (special tokens, `add_bos_token`, `add_eos_token`), combined as transformers 5 does, so
    /// `encode` gives the ids `AutoTokenizer.from_pretrained(directory)` gives.
    public static func load(directory: URL) throws -> BPETokenizer {
        let tokenizerURL = directory.appendingPathComponent("tokenizer.json")
        let vocabURL = directory.appendingPathComponent("vocab.json")
        let mergesURL = directory.appendingPathComponent("merges.txt")
        let hasTokenizerJSON = TokenizerFiles.exists(tokenizerURL)
        guard hasTokenizerJSON || (TokenizerFiles.exists(vocabURL) && TokenizerFiles.exists(mergesURL)) else {
            let found = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.sorted() ?? []
            throw TokenizerError.missingFiles(directory: directory.path, found: found)
        }
        let config = try TokenizerFiles.readConfig(directory: directory)
        if hasTokenizerJSON {
            return try BPETokenizer(components: components(tokenizerJSON: tokenizerURL, config: config))
        }
        return try BPETokenizer(components: components(vocab: vocabURL, merges: mergesURL, config: config))
    }

    /// The GPT2Tokenizer route: vocab.json + merges.txt, everything else from the configs.
    private static func components(vocab vocabURL: URL, merges mergesURL: URL,
                                   config: TokenizerFiles.Config) throws -> Components {
        let vocab = try TokenizerFiles.vocabulary(try TokenizerFiles.readJSON(vocabURL), path: vocabURL.path, field: "vocab.json")
        let merges = try TokenizerFiles.readMerges(mergesURL)
        var added: [AddedToken] = []
        addConfigTokens(config, vocab: vocab, to: &added)
        var components = Components(vocab: vocab, merges: merges, addedTokens: added,
                                    templatePrefix: [], templateSuffix: [], path: mergesURL.deletingLastPathComponent().path)
        components.addPrefixSpace = config.addPrefixSpace ?? false
        setRoles(config, on: &components)
        setTemplateFromConfig(config, on: &components)
        return components
    }

    /// The `tokenizers` route: model, added tokens and pipeline stages from tokenizer.json.
    private static func components(tokenizerJSON url: URL, config: TokenizerFiles.Config) throws -> Components {
        let path = url.path
        let root = try TokenizerFiles.readJSONObject(url)
        guard let model = root["model"] as? [String: Any] else {
            throw TokenizerError.malformedJSON(path: path, reason: "no \"model\" object")
        }
        // Very old files omit the type; a vocab with merges can only be BPE.
        let type = model["type"] as? String ?? (model["merges"] != nil ? "BPE" : "<none>")
        guard type == "BPE" else { throw TokenizerError.unsupportedModel(path: path, type: type) }
        let vocab = try TokenizerFiles.vocabulary(model["vocab"], path: path, field: "model.vocab")
        let merges = try TokenizerFiles.merges(model["merges"], path: path)
        for option in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let value = model[option] as? String, !value.isEmpty {
                throw TokenizerError.unsupportedComponent(path: path, component: "model.\(option)", detail: "\(value.debugDescription) (only empty is implemented)")
            }
        }
        if TokenizerFiles.boolean(model["byte_fallback"]) == true {
            throw TokenizerError.unsupportedComponent(path: path, component: "model.byte_fallback", detail: "true (a SentencePiece-style option)")
        }
        // `dropout` is ignored on purpose: it only randomizes merges, which inference never wants.

        if let normalizer = root["normalizer"] as? [String: Any] {
            let isEmptySequence = normalizer["type"] as? String == "Sequence" && (normalizer["normalizers"] as? [Any])?.isEmpty == true
            if !isEmptySequence {
                throw TokenizerError.unsupportedComponent(path: path, component: "normalizer", detail: "type \(String(describing: normalizer["type"] ?? "?")); OPT and GPT-2 use none")
            }
        }
        let (addPrefixSpace, useRegex) = try TokenizerFiles.preTokenizer(root["pre_tokenizer"], path: path)
        if let decoder = root["decoder"] as? [String: Any], decoder["type"] as? String != "ByteLevel" {
            throw TokenizerError.unsupportedComponent(path: path, component: "decoder", detail: "type \(String(describing: decoder["type"] ?? "?")); only ByteLevel is implemented")
        }

        var added: [AddedToken] = []
        if let entries = root["added_tokens"] as? [Any] {
            for entry in entries {
                guard let object = entry as? [String: Any], let id = TokenizerFiles.integer(object["id"]),
                      let spec = TokenizerFiles.tokenSpec(object, special: false) else {
                    throw TokenizerError.malformedJSON(path: path, reason: "an added_tokens entry lacks id or content")
                }
                guard !spec.content.isEmpty else { continue }
                added.append(addedToken(spec, id: id))
            }
        }
        addConfigTokens(config, vocab: vocab, to: &added)

        var components = Components(vocab: vocab, merges: merges, addedTokens: added,
                                    templatePrefix: [], templateSuffix: [], path: path)
        components.modelUnknownToken = model["unk_token"] as? String
        components.fuseUnknown = TokenizerFiles.boolean(model["fuse_unk"]) ?? false
        components.ignoreMerges = TokenizerFiles.boolean(model["ignore_merges"]) ?? false
        components.addPrefixSpace = addPrefixSpace
        components.useRegex = useRegex
        setRoles(config, on: &components)
        if config.addBOS != nil || config.addEOS != nil {
            // transformers rebuilds the post-processor from add_bos_token/add_eos_token when
            // the config sets either, replacing tokenizer.json's.
            setTemplateFromConfig(config, on: &components)
        } else {
            let addedIDs = Dictionary(added.map { ($0.content, $0.id) }, uniquingKeysWith: { first, _ in first })
            let (prefix, suffix) = try TokenizerFiles.postProcessor(root["post_processor"], vocab: { addedIDs[$0] ?? vocab[$0] }, path: path)
            components.templatePrefix = prefix
            components.templateSuffix = suffix
        }
        return components
    }

    private static func addedToken(_ spec: TokenizerFiles.TokenSpec, id: Int) -> AddedToken {
        AddedToken(content: spec.content, id: id, special: spec.special, singleWord: spec.singleWord,
                   lstrip: spec.lstrip, rstrip: spec.rstrip, normalized: spec.normalized)
    }

    /// Adds the configs' added tokens and special tokens the way transformers registers them
    /// with the backend: a listed id wins; a special token already present just becomes
    /// special; a new one takes its vocabulary id, or the next free id past the vocabulary.
    private static func addConfigTokens(_ config: TokenizerFiles.Config, vocab: [String: Int], to added: inout [AddedToken]) {
        for (id, spec) in config.addedTokens where !spec.content.isEmpty {
            let token = addedToken(spec, id: id)
            if let index = added.firstIndex(where: { $0.content == spec.content }) {
                added[index] = token
            } else {
                added.append(token)
            }
        }
        let specials = TokenizerFiles.roles.compactMap { config.roleTokens[$0] } + config.additionalSpecial
        for spec in specials where !spec.content.isEmpty {
            if let index = added.firstIndex(where: { $0.content == spec.content }) {
                added[index].special = true
                continue
            }
            let id = vocab[spec.content] ?? nextFreeID(vocab: vocab, added: added)
            var special = spec
            special.special = true
            added.append(addedToken(special, id: id))
        }
    }

    /// `AddedVocabulary::add_tokens`' rule for a token the model does not know.
    private static func nextFreeID(vocab: [String: Int], added: [AddedToken]) -> Int {
        guard let highest = added.map(\.id).max() else { return vocab.count }
        return highest >= vocab.count || vocab.isEmpty ? highest + 1 : vocab.count
    }

    private static func setRoles(_ config: TokenizerFiles.Config, on components: inout Components) {
        components.bosToken = config.roleTokens["bos_token"]?.content
        components.eosToken = config.roleTokens["eos_token"]?.content
        components.padToken = config.roleTokens["pad_token"]?.content
        components.unkToken = config.roleTokens["unk_token"]?.content
    }

    /// transformers' `update_post_processor`: `[bos] $A [eos]` by add_bos_token/add_eos_token,
    /// each dropped when its token is unknown.
    private static func setTemplateFromConfig(_ config: TokenizerFiles.Config, on components: inout Components) {
        func id(of token: String?) -> Int? {
            guard let token else { return nil }
            return components.addedTokens.first { $0.content == token }?.id ?? components.vocab[token]
        }
        components.templatePrefix = config.addBOS == true ? (id(of: components.bosToken).map { [$0] } ?? []) : []
        components.templateSuffix = config.addEOS == true ? (id(of: components.eosToken).map { [$0] } ?? []) : []
    }
}
