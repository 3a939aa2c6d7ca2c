<?php
/**
 * Plugin Name:       WP Social Bot
 * Description:       Lets editors choose, per post, whether and how the social bot shares it, tells the bot at once when a post changes, and shows where each post went. WordPress posts nothing itself: the bot does.
 * Version:           0.1.0
 * Requires at least: 6.1
 * Requires PHP:      7.4
 * Author:            The wp-social-bot project
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       wp-social-bot
 * Domain Path:       /languages
 *
 * @package WP_Social_Bot
 */

defined( 'ABSPATH' ) || exit;

define( 'WP_SOCIAL_BOT_VERSION', '0.1.0' );
define( 'WP_SOCIAL_BOT_PLUGIN_FILE', __FILE__ );
define( 'WP_SOCIAL_BOT_PLUGIN_DIR', plugin_dir_path( __FILE__ ) );

require_once WP_SOCIAL_BOT_PLUGIN_DIR . 'includes/class-wp-social-bot-settings.php';
require_once WP_SOCIAL_BOT_PLUGIN_DIR . 'includes/class-wp-social-bot-client.php';
require_once WP_SOCIAL_BOT_PLUGIN_DIR . 'includes/class-wp-social-bot-meta.php';
require_once WP_SOCIAL_BOT_PLUGIN_DIR . 'includes/class-wp-social-bot-notifier.php';
require_once WP_SOCIAL_BOT_PLUGIN_DIR . 'includes/class-wp-social-bot-status.php';
require_once WP_SOCIAL_BOT_PLUGIN_DIR . 'includes/class-wp-social-bot-editor.php';
require_once WP_SOCIAL_BOT_PLUGIN_DIR . 'includes/class-wp-social-bot-settings-page.php';

/**
 * Loads the plugin's translations (languages/wp-social-bot-<locale>.mo).
 */
function wp_social_bot_load_textdomain() {
	load_plugin_textdomain( 'wp-social-bot', false, dirname( plugin_basename( WP_SOCIAL_BOT_PLUGIN_FILE ) ) . '/languages' );
}
add_action( 'init', 'wp_social_bot_load_textdomain', 1 );

WP_Social_Bot_Meta::init();
WP_Social_Bot_Notifier::init();
WP_Social_Bot_Status::init();
WP_Social_Bot_Editor::init();
WP_Social_Bot_Settings_Page::init();
