import Foundation
import OPTSupport
import OPTKernels

/// The `config.json` of an OPT or OPT-IML checkpoint; coding keys are exactly Hugging Face's.
///
/// Shape-defining keys are required; the others default as transformers' `OPTConfig` does, so that
/// every published variant loads (pre-LayerNorm 125m…175b and OPT-IML, the post-LayerNorm 350m).
public struct OPTConfig: Codable, Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var ffnDim: Int
    public var maxPositionEmbeddings: Int
    public var wordEmbedProjDim: Int
    public var doLayerNormBefore: Bool
    public var removeFinalLayerNorm: Bool
    public var enableBias: Bool
    public var layerNormElementwiseAffine: Bool
    public var activationFunction: String
    public var bosTokenId: Int
    public var eosTokenId: Int
    public var padTokenId: Int
    public var tieWordEmbeddings: Bool
    public var modelType: String?
    public var torchDtype: String?

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case ffnDim = "ffn_dim"
        case maxPositionEmbeddings = "max_position_embeddings"
        case wordEmbedProjDim = "word_embed_proj_dim"
        case doLayerNormBefore = "do_layer_norm_before"
        case removeFinalLayerNorm = "_remove_final_layer_norm"
        case enableBias = "enable_bias"
        case layerNormElementwiseAffine = "layer_norm_elementwise_affine"
        case activationFunction = "activation_function"
        case bosTokenId = "bos_token_id"
        case eosTokenId = "eos_token_id"
        case padTokenId = "pad_token_id"
        case tieWordEmbeddings = "tie_word_embeddings"
        case modelType = "model_type"
        case torchDtype = "torch_dtype"
    }

    /// A configuration with transformers' defaults for everything but the shape.
    public init(
        vocabSize: Int, hiddenSize: Int, numHiddenLayers: Int, numAttentionHeads: Int, ffnDim: Int,
        maxPositionEmbeddings: Int = 2048, wordEmbedProjDim: Int? = nil, doLayerNormBefore: Bool = true
    ) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.ffnDim = ffnDim
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.wordEmbedProjDim = wordEmbedProjDim ?? hiddenSize
        self.doLayerNormBefore = doLayerNormBefore
        self.removeFinalLayerNorm = false
        self.enableBias = true
        self.layerNormElementwiseAffine = true
        self.activationFunction = "relu"
        self.bosTokenId = 2
        self.eosTokenId = 2
        self.padTokenId = 1
        self.tieWordEmbeddings = true
        self.modelType = "opt"
        self.torchDtype = nil
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        ffnDim = try c.decode(Int.self, forKey: .ffnDim)
        maxPositionEmbeddings = try c.decode(Int.self, forKey: .maxPositionEmbeddings)
        wordEmbedProjDim = try c.decodeIfPresent(Int.self, forKey: .wordEmbedProjDim) ?? hiddenSize
        doLayerNormBefore = try c.decodeIfPresent(Bool.self, forKey: .doLayerNormBefore) ?? true
        removeFinalLayerNorm = try c.decodeIfPresent(Bool.self, forKey: .removeFinalLayerNorm) ?? false
        enableBias = try c.decodeIfPresent(Bool.self, forKey: .enableBias) ?? true
        layerNormElementwiseAffine = try c.decodeIfPresent(Bool.self, forKey: .layerNormElementwiseAffine) ?? true
        activationFunction = try c.decodeIfPresent(String.self, forKey: .activationFunction) ?? "relu"
        bosTokenId = try c.decodeIfPresent(Int.self, forKey: .bosTokenId) ?? 2
        eosTokenId = try c.decodeIfPresent(Int.self, forKey: .eosTokenId) ?? 2
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? 1
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? true
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType)
        torchDtype = try c.decodeIfPresent(String.self, forKey: .torchDtype)
    }

    /// Width of one attention head.
    public var headDim: Int { hiddenSize / numAttentionHeads }
    /// Whether the decoder ends with `final_layer_norm` (pre-LN models unless removed, as transformers decides).
    public var hasFinalLayerNorm: Bool { doLayerNormBefore && !removeFinalLayerNorm }
    /// Whether embeddings are projected between `word_embed_proj_dim` and `hidden_size` (the 350m layout).
    public var hasProjection: Bool { wordEmbedProjDim != hiddenSize }
    /// transformers' learned position embeddings are offset by 2 (a fairseq legacy).
    public static let positionOffset = 2

    /// Reads and checks `config.json`.
    public static func load(from url: URL) throws -> OPTConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError.missingFile(url.path)
        }
        let config: OPTConfig
        do {
            config = try JSONDecoder().decode(OPTConfig.self, from: data)
        } catch {
            throw ModelError.invalidConfig(file: url.path, reason: DecodingProblem.describe(error, json: data))
        }
        try config.validate(file: url.path)
        return config
    }

    /// The largest size a config may give: sums and products of sizes (positions + 2, rows × columns of a
    /// GEMM's operands for BLAS's 32-bit sizes) then stay far from overflow.
    static let maxDimension = 1 << 24

    /// Rejects shapes the forward pass cannot run.
    public func validate(file: String) throws {
        if let modelType, modelType != "opt" {
            throw ModelError.invalidConfig(file: file, reason: "model_type is \"\(modelType)\", expected \"opt\"")
        }
        let positive: [(String, Int)] = [
            ("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("num_hidden_layers", numHiddenLayers),
            ("num_attention_heads", numAttentionHeads), ("ffn_dim", ffnDim),
            ("max_position_embeddings", maxPositionEmbeddings), ("word_embed_proj_dim", wordEmbedProjDim),
        ]
        for (key, value) in positive where value <= 0 || value > Self.maxDimension {
            throw ModelError.invalidConfig(file: file, reason: "\(key) must be in 1…\(Self.maxDimension), got \(value)")
        }
        for (key, value) in [("bos_token_id", bosTokenId), ("eos_token_id", eosTokenId), ("pad_token_id", padTokenId)]
        where !(0..<vocabSize).contains(value) {
            throw ModelError.invalidConfig(file: file, reason: "\(key) \(value) is outside the vocabulary (0…\(vocabSize - 1))")
        }
        if hiddenSize % numAttentionHeads != 0 {
            throw ModelError.invalidConfig(
                file: file, reason: "hidden_size \(hiddenSize) is not divisible by num_attention_heads \(numAttentionHeads)")
        }
        if Ops.Activation(rawValue: activationFunction) == nil {
            throw ModelError.invalidConfig(file: file, reason: "unsupported activation_function \"\(activationFunction)\"")
        }
    }
}

extension OPTConfig {
    /// The shapes of published OPT models, for random-weight checkpoints and benchmarks.
    public enum Preset: String, CaseIterable, Sendable {
        case opt125m = "opt-125m"
        case opt350m = "opt-350m"
        case opt1_3b = "opt-1.3b"
        case opt2_7b = "opt-2.7b"
        /// A few million parameters: the project's own demo model (its vocabulary set by its tokenizer).
        case nano

        /// The configuration of the published checkpoint (vocabulary padded to 50272).
        public var config: OPTConfig {
            switch self {
            case .opt125m: OPTConfig(vocabSize: 50272, hiddenSize: 768, numHiddenLayers: 12, numAttentionHeads: 12, ffnDim: 3072)
            case .opt350m:
                OPTConfig(vocabSize: 50272, hiddenSize: 1024, numHiddenLayers: 24, numAttentionHeads: 16, ffnDim: 4096,
                          wordEmbedProjDim: 512, doLayerNormBefore: false)
            case .opt1_3b: OPTConfig(vocabSize: 50272, hiddenSize: 2048, numHiddenLayers: 24, numAttentionHeads: 32, ffnDim: 8192)
            case .opt2_7b: OPTConfig(vocabSize: 50272, hiddenSize: 2560, numHiddenLayers: 32, numAttentionHeads: 32, ffnDim: 10240)
            case .nano: OPTConfig(vocabSize: 1024, hiddenSize: 192, numHiddenLayers: 4, numAttentionHeads: 6, ffnDim: 768, maxPositionEmbeddings: 512)
            }
        }
    }

    /// Writes `config.json` as transformers does (with `architectures` and `model_type`), atomically;
    /// `quantized` (int8 or int4) marks the project's own layouts so that other loaders refuse them.
    public func write(to url: URL, quantized: WeightFormat? = nil) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var object = try JSONSerialization.jsonObject(with: encoder.encode(self)) as? [String: Any] ?? [:]
        object["architectures"] = ["OPTForCausalLM"]
        object["model_type"] = "opt"
        switch quantized {
        case .int8:
            object["quantization_config"] = ["quant_method": "optiml_int8", "bits": 8, "scheme": "symmetric, one scale per output row"]
        case .int4:
            object["quantization_config"] = [
                "quant_method": "optiml_int4", "bits": 4, "group_size": WeightFormat.int4GroupSize,
                "scheme": "symmetric, one f16 scale per group of columns; the token embedding and first layer in int8 (one scale per row), the lm_head too unless stored apart in int4",
            ] as [String: Any]
        default: break
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(data, to: url)
    }
}
