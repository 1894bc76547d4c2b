import CKernels
import Foundation

/// The instruction-set paths the matrix kernels run on, chosen once at run time for this processor.
public enum KernelPath {
    /// The matrix-vector (decode) path, then each prefill GEMM that runs on its own unit and the fused prefill attention,
    /// joined by `+` (`avx2+avx512vnni+int4-avx512vnni+avx512bf16+attention-avx512`, `neon+dotprod`, `portable`): paths
    /// sum in different orders and some quantize or round their inputs, so results computed on one are not taken for
    /// another's. The attention kernel is the one of OPT's heads (64, 80 and 128 values take the same on every processor).
    public static var current: String {
        ([decode] + [int8GEMM, int4GEMM, bf16GEMM, oneDNN.map { _ in "onednn" }, attentionKernel(headSize: 64)].compactMap { $0 })
            .joined(separator: "+")
    }

    /// oneDNN's version where the prefill GEMMs run through it (f32, and int8 and bf16 where their unit GEMMs are
    /// on), nil where it is not installed or was turned off: its kernels sum in their own order.
    public static var oneDNN: String? {
        guard Int(ck_onednn()) != 0, let version = ck_onednn_version() else { return nil }
        return String(cString: version)
    }

    /// Turns oneDNN on (where it loaded) or off for the whole process; returns whether it is now on.
    @discardableResult
    public static func useOneDNN(_ on: Bool) -> Bool { ck_set_onednn(on ? 1 : 0) != 0 }

    /// The kernel oneDNN picks for a prefill product of `inputs` × `rows` × `cols` in `format`, where it runs one.
    public static func oneDNNKernel(_ format: WeightFormat, inputs: Int, rows: Int, cols: Int) -> String? {
        let type: Int32
        switch format {
        case .f32: type = Int32(CK_ONEDNN_F32)
        case .int8: type = Int32(CK_ONEDNN_U8S8)
        case .bf16: type = Int32(CK_ONEDNN_BF16)
        case .f16, .int4: return nil
        }
        var name = [CChar](repeating: 0, count: 128)
        guard ck_onednn_implementation(type, inputs, rows, cols, &name, name.count) == 0 else { return nil }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The matrix-vector kernels of decode (batches up to `WeightMatrix.matvecLimit`).
    public static var decode: String {
        switch Int(ck_isa()) {
        case Int(CK_ISA_AVX2): "avx2"
        case Int(CK_ISA_NEON): "neon"
        case Int(CK_ISA_NEON_DOTPROD): "neon+dotprod"
        default: "portable"
        }
    }

    /// How the AVX2 table multiplies int8 and int4 bytes (decode, and the int4 batches that the larger kernels do not
    /// take): `vpdpbusd` in AVX-512 VNNI's or AVX-VNNI's encoding, or nil where maddubs does (or another instruction set
    /// runs). Every flavour gives the same bits, so it is not part of `current`.
    public static var dotProducts: String? {
        switch Int(ck_dot_flavour()) {
        case Int(CK_DOT_AVX512VNNI): "vpdpbusd (avx512vnni)"
        case Int(CK_DOT_AVXVNNI): "vpdpbusd (avxvnni)"
        default: nil
        }
    }

    /// The int8 × int8 GEMM of prefill and batched decode, or nil where int8 weights are converted to f32 tiles for the f32
    /// GEMM (AVX2's runs only through oneDNN, and only past the decode kernels' batches).
    public static var int8GEMM: String? {
        switch Int(ck_q8_gemm()) {
        case Int(CK_GEMM_AVX512VNNI): "avx512vnni"
        case Int(CK_GEMM_AVXVNNI): "avxvnni"
        case Int(CK_GEMM_AVX2_ONEDNN): ck_onednn() != 0 ? "avx2-u7" : nil
        default: nil
        }
    }

    /// The int4 kernel of larger batches: on AVX-512 VNNI (`vpdpbusd` in the AVX2 kernel's layout, and for larger
    /// batches ck_matmul_q4_avx512vnni; on and off with the int8 GEMM), on AVX2 weights unpacked into tiles of 16 rows
    /// (16-bit sums), or nil where the instruction set's own kernel runs every batch.
    public static var int4GEMM: String? {
        switch Int(ck_q4_gemm()) {
        case Int(CK_GEMM_AVX512VNNI): "int4-avx512vnni"
        case Int(CK_GEMM_AVX2): "int4-avx2-tiles"
        default: nil
        }
    }

    /// The columns that share one input scale in the int4 GEMM `path`: AVX2's tiles take the groups' scales as integers
    /// under one per 256 columns, so their inputs are quantized per 256; the other kernels per group of 32.
    static func int4InputScaleColumns(_ path: String) -> String { path == "int4-avx2-tiles" ? "32, 256 from 16 inputs on" : "32" }

    /// The int4 kernel that multiplies `count` inputs on AVX2 and AVX-512: the larger batches' where it takes them
    /// (VNNI's takes every batch size), else AVX2's own.
    public static func int4Kernel(count: Int) -> String {
        Int(ck_q4_gemm()) == Int(CK_GEMM_AVX512VNNI) || WeightMatrix.int4GEMMTakes(count: count) ? int4GEMM ?? decode : decode
    }

    /// The bf16 × bf16 prefill GEMM, or nil where bf16 weights are converted to f32 tiles for the f32 GEMM (the default:
    /// the bf16 GEMM rounds inputs to bf16, so it runs only after `useUnitGEMMs(bf16: true)`).
    public static var bf16GEMM: String? { Int(ck_bf16_gemm()) == Int(CK_GEMM_AVX512BF16) ? "avx512bf16" : nil }

    /// Which int8 and bf16 GEMMs the processor has (whether or not they are in use): int8 on AVX-512 VNNI, AVX-VNNI, or
    /// AVX2 through oneDNN; bf16 on AVX512-BF16.
    public static var units: (int8: Bool, bf16: Bool) {
        (Int(ck_best_q8_gemm()) != Int(CK_GEMM_NONE),
         ck_has(UInt32(CK_FEATURE_AVX512F | CK_FEATURE_AVX512BW | CK_FEATURE_AVX512BF16)) != 0)
    }

    /// Turns the int8 and bf16 GEMMs on (where the processor has them) or off (f32 tiles) for the
    /// whole process; returns whether each is now on. int8 nil takes the default, the int8 GEMM where it beats the
    /// f32 tiles (`ck_default_q8_gemm`); bf16 is off by default.
    @discardableResult
    public static func useUnitGEMMs(int8: Bool? = nil, bf16: Bool = false) -> (int8: Bool, bf16: Bool) {
        let q8 = ck_set_q8_gemm(int8.map { $0 ? ck_best_q8_gemm() : Int32(CK_GEMM_NONE) } ?? ck_default_q8_gemm())
        let b16 = ck_set_bf16_gemm(Int32(bf16 ? CK_GEMM_AVX512BF16 : CK_GEMM_NONE))
        return (Int(q8) != Int(CK_GEMM_NONE), Int(b16) != Int(CK_GEMM_NONE))
    }

    /// The processor features detected (those the kernels know of), by their usual names.
    public static var features: [String] {
        let names: [(UInt32, String)] = [
            (UInt32(CK_FEATURE_AVX2), "avx2"), (UInt32(CK_FEATURE_FMA), "fma"), (UInt32(CK_FEATURE_F16C), "f16c"),
            (UInt32(CK_FEATURE_AVX512F), "avx512f"), (UInt32(CK_FEATURE_AVX512BW), "avx512bw"), (UInt32(CK_FEATURE_AVX512DQ), "avx512dq"),
            (UInt32(CK_FEATURE_AVX512VL), "avx512vl"),
            (UInt32(CK_FEATURE_AVX512VNNI), "avx512vnni"), (UInt32(CK_FEATURE_AVXVNNI), "avxvnni"), (UInt32(CK_FEATURE_AVX512BF16), "avx512bf16"),
            (UInt32(CK_FEATURE_AMX_TILE), "amx-tile"), (UInt32(CK_FEATURE_AMX_INT8), "amx-int8"), (UInt32(CK_FEATURE_AMX_BF16), "amx-bf16"),
            (UInt32(CK_FEATURE_NEON), "neon"), (UInt32(CK_FEATURE_DOTPROD), "dotprod"),
            (UInt32(CK_FEATURE_NARROW_AVX), "narrow-avx (256-bit vectors on 128-bit units)"),
        ]
        let detected = ck_cpu_features()
        return names.filter { detected & $0.0 != 0 }.map(\.1)
    }

    /// Which path each kernel family runs, for `optiml inspect` and `optiml speed`.
    public static var families: [(family: String, path: String)] {
        let through = oneDNN.map { " through \($0)" } ?? "", f32 = oneDNN ?? BLAS.implementation, tiles = "f32 tiles through \(f32)"
        return [("f32 GEMM", f32),
         ("int8 GEMM", int8GEMM.map { "\($0)\(through) (int8 weights × inputs quantized per row onto 0…\(ck_gemm_q8_input_levels()) with a zero point)" }
             ?? tiles + (units.int8 && Int(ck_default_q8_gemm()) == Int(CK_GEMM_NONE) ? " (the int8 GEMM is no faster on narrow-avx)" : "")),
         ("bf16 GEMM", bf16GEMM.map { "\($0)\(through) (bf16 weights × bf16-rounded inputs)" }
             ?? tiles + (units.bf16 ? " (avx512bf16 with --bf16-gemm)" : "")),
         ("int4 GEMM", int4GEMM.map { "\($0) (int4 weights × inputs quantized per block of \(int4InputScaleColumns($0)); larger batches on weights unpacked per call)" }
             ?? "\(decode) (exact f32 products)"),
         ("f16 GEMM", tiles),
         ("prefill attention", attentionKernel(headSize: 64).map { "\($0) (one f32 kernel per head)" }
             ?? "\(BLAS.implementation) products per block of 64 queries"),
         ("matvec decode", decode + (dotProducts.map { " (int8 and int4 bytes by \($0))" } ?? ""))]
    }

    /// The fused f32 kernel of prefill attention (more than one query; `ck_attention_f32`) for heads of `headSize`
    /// values, or nil where two BLAS products and a softmax per block of queries take its place.
    public static func attentionKernel(headSize: Int) -> String? {
        switch Int(ck_attention_f32_enabled(headSize)) {
        case Int(CK_ATTENTION_AVX512): "attention-avx512"
        case Int(CK_ATTENTION_AVX2): "attention-avx2"
        default: nil
        }
    }

    /// What the environment's OPTIML_MAX_ISA does to the features, if it is set.
    private static var featureCap: String {
        guard let cap = ProcessInfo.processInfo.environment["OPTIML_MAX_ISA"] else { return "" }
        return ck_max_isa_understood() != 0 ? " (capped by OPTIML_MAX_ISA=\(cap))"
            : " (OPTIML_MAX_ISA=\(cap) not understood, so not applied: avx2, avx2-vnni or portable)"
    }

    /// The features and the families' paths, one per line.
    public static var report: String {
        (["cpu features      \(features.isEmpty ? "none the kernels use" : features.joined(separator: " "))\(featureCap)"]
            + families.map { "\($0.family.padding(toLength: 17, withPad: " ", startingAt: 0)) \($0.path)" })
            .joined(separator: "\n")
    }
}
