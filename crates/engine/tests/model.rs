//! The shipped model: the same numbers as onnxruntime, and the right classes on real photos.

#[path = "../../../tests/common/engine.rs"]
mod common;

fn read_f32(name: &str) -> Vec<f32> {
    std::fs::read(common::fixture(name))
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// The built-in model with its class scores (indexing leaves them out).
fn classifier() -> photo_sim_engine::Model {
    let options = photo_sim_engine::embed::Options {
        logits: true,
        ..Default::default()
    };
    photo_sim_engine::Model::from_bytes_with(photo_sim_engine::embed::DEFAULT_MODEL, &options)
        .unwrap()
}

fn top5(logits: &[f32]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..logits.len()).collect();
    idx.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    idx.truncate(5);
    idx
}

#[test]
fn tract_matches_onnxruntime_within_1e_3_on_the_same_input() {
    let model = classifier();
    assert_eq!(model.dim, 1280);
    let input = read_f32("cat.input.f32");
    let want = read_f32("cat.embedding.f32");
    let out = model.session().unwrap().run(&input).unwrap();
    let worst = out
        .embedding
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-3, "largest difference from onnxruntime: {worst}");
    let want_top5: Vec<usize> = std::fs::read_to_string(common::fixture("cat.logits_top5.txt"))
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(top5(&out.logits.unwrap()), want_top5);
    // The model indexing uses computes no class scores.
    assert!(common::model()
        .session()
        .unwrap()
        .run(&input)
        .unwrap()
        .logits
        .is_none());
}

#[test]
fn tract_rmac_matches_onnxruntime_features_pooled_by_the_reference_script() {
    // cat.rmac.f32: onnxruntime's `features` for cat.input.f32, pooled by models/rmac.py.
    let model = common::model();
    assert_eq!(model.descriptor, photo_sim_engine::embed::Descriptor::Rmac);
    let input = read_f32("cat.input.f32");
    let want = read_f32("cat.rmac.f32");
    let got = model.session().unwrap().embed(&input).unwrap();
    assert_eq!(got.len(), want.len());
    let worst = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(
        worst < 1e-3,
        "largest difference from the reference: {worst}"
    );
}

#[test]
fn known_photos_get_their_imagenet_class_through_the_whole_pipeline() {
    let model = classifier();
    let classes: Vec<String> =
        std::fs::read_to_string(common::repo_root().join("models/imagenet_classes.txt"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
    let mut session = model.session().unwrap();
    let classify = |session: &mut photo_sim_engine::embed::Session, name: &str| {
        let input = photo_sim_engine::embed::model_input(&common::fixture(name)).unwrap();
        top5(&session.run(&input).unwrap().logits.unwrap())
    };
    let cat = classify(&mut session, "cat.jpg");
    // 281..=285: tabby, tiger cat, Persian, Siamese, Egyptian cat.
    assert!(
        (281..=285).contains(&cat[0]),
        "cat.jpg top-1 is {}",
        classes[cat[0]]
    );
    let coffee = classify(&mut session, "coffee.jpg");
    assert!(
        coffee[..2].contains(&967),
        "coffee.jpg top-2 lacks espresso: {:?}",
        coffee.iter().map(|&i| &classes[i]).collect::<Vec<_>>()
    );
}

#[test]
fn rust_preprocessing_is_close_to_the_reference_pipeline() {
    // The reference input was made by PIL (full decode, bilinear resize); ours decodes the same
    // JPEG with another decoder, so the pixels differ a little but the embedding must not.
    let model = common::model();
    let mut session = model.session().unwrap();
    let ours = session
        .embed(&photo_sim_engine::embed::model_input(&common::fixture("cat.jpg")).unwrap())
        .unwrap();
    let reference = session.embed(&read_f32("cat.input.f32")).unwrap();
    let cosine: f32 = ours.iter().zip(&reference).map(|(a, b)| a * b).sum();
    assert!(
        cosine > 0.97,
        "cosine to the reference preprocessing: {cosine}"
    );
}

#[test]
fn the_built_in_model_ships_the_projection_of_its_compact_codes() {
    use photo_sim_engine::query::projection::Projection;
    let model = common::model();
    let projection = Projection::for_model(&model).expect("a projection for the built-in model");
    assert_eq!((projection.dim_in, projection.dim_out), (1280, 256));
    // Photos it was not learned on (the test fixtures) keep most of their length in it.
    let mut session = model.session().unwrap();
    let descriptors: Vec<f32> = ["cat.jpg", "coffee.jpg"]
        .iter()
        .flat_map(|name| {
            let input = photo_sim_engine::embed::model_input(&common::fixture(name)).unwrap();
            session.embed(&input).unwrap()
        })
        .collect();
    let kept = projection.kept(&descriptors);
    assert!(kept > 0.6, "kept {kept}");
    // A model with another descriptor has none: its codes are full length.
    let options = photo_sim_engine::embed::Options {
        descriptor: photo_sim_engine::embed::Descriptor::Gap,
        ..Default::default()
    };
    let gap =
        photo_sim_engine::Model::from_bytes_with(photo_sim_engine::embed::DEFAULT_MODEL, &options)
            .unwrap();
    assert!(Projection::for_model(&gap).is_none());
}

#[test]
fn the_operations_of_ours_leave_every_feature_bit_identical_to_tract_s() {
    use photo_sim_engine::embed::{Model, Options, DEFAULT_MODEL};
    let ours = Model::from_bytes_with(DEFAULT_MODEL, &Options::default()).unwrap();
    let tract = Model::from_bytes_with(
        DEFAULT_MODEL,
        &Options {
            pointwise: false,
            fused_depthwise: false,
            ..Default::default()
        },
    )
    .unwrap();
    let bits = |model: &Model, input: &[f32]| -> Vec<u32> {
        let out = model.session().unwrap().run(input).unwrap();
        let features = out
            .features
            .expect("the built-in model gives its feature map");
        assert!(features.iter().any(|x| *x > 0.0) && features.contains(&0.0));
        features.iter().map(|x| x.to_bits()).collect()
    };
    let photo = photo_sim_engine::embed::model_input(&common::fixture("cat.jpg")).unwrap();
    for input in [read_f32("cat.input.f32"), photo] {
        let (a, b) = (bits(&ours, &input), bits(&tract, &input));
        let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
        assert_eq!(differ, 0, "{differ} of {} features differ", a.len());
        // Spread over every core (a query a person waits for), each output is computed alike.
        let mut session = ours.session().unwrap();
        let one = session.embed(&input).unwrap();
        let spread = session.embed_now(&input).unwrap();
        assert!(one
            .iter()
            .zip(&spread)
            .all(|(x, y)| x.to_bits() == y.to_bits()));
    }
}
